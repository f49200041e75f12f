/** Job kinds are one table: lib/schema's spec schemas and the container's modules agree, in types and at run time. */
import { describe, expect, it } from 'vitest';
import type { JobKindModule } from '../../functions/container/kit/context';
import { logLossRule } from '../../functions/container/kit/report';
import { JOB_MODULES } from '../../functions/container/registry';
import { JOB_SPEC_SCHEMAS, type JobKind, JobSpecSchema } from '../../lib/schema';

describe('the job-kind table', () => {
  it("has a module for every kind of the spec table, each exporting that kind's schema", () => {
    expect(Object.keys(JOB_MODULES).sort()).toEqual(Object.keys(JOB_SPEC_SCHEMAS).sort());
    for (const kind of Object.keys(JOB_SPEC_SCHEMAS) as JobKind[]) {
      expect(JOB_MODULES[kind].schema).toBe(JOB_SPEC_SCHEMAS[kind]);
      expect(typeof JOB_MODULES[kind].run).toBe('function');
    }
  });

  it('builds JobSpecSchema from the same table', () => {
    expect(JobSpecSchema.options).toEqual(Object.values(JOB_SPEC_SCHEMAS));
  });

  it('does not compile with a kind left out or another kind’s module', () => {
    // @ts-expect-error every kind of JOB_SPEC_SCHEMAS needs a module
    const partial: typeof JOB_MODULES = { stack: JOB_MODULES.stack };
    // @ts-expect-error a module carries its own kind's schema and context
    const wrong: JobKindModule<'stack'> = JOB_MODULES.compress;
    expect([partial, wrong]).toHaveLength(2);
  });
});

describe('log-loss gates (fit-weights, build-members)', () => {
  const spec = (gate?: object) => ({
    kind: 'fit-weights',
    ensemble: 'spam',
    validation: 'datasets/v.jsonl',
    method: 'accuracy',
    ...(gate ? { gate } : {}),
  });

  it('default to no increase over the current version; a required gain replaces the allowed increase', () => {
    const rule = (gate?: object) => {
      const parsed = JobSpecSchema.parse(spec(gate));
      if (parsed.kind !== 'fit-weights') throw new Error('parsed another kind');
      return logLossRule(parsed.gate);
    };
    expect(rule()).toEqual({ maxIncrease: 0 });
    expect(rule({ maxLogLossIncrease: 0.01 })).toEqual({ maxIncrease: 0.01 });
    expect(rule({ minLogLossGain: 0.05 })).toEqual({ minGain: 0.05 });
  });

  it('refuse both bars at once, and a negative allowed increase', () => {
    expect(
      JobSpecSchema.safeParse(spec({ maxLogLossIncrease: 0, minLogLossGain: 0.05 })).error?.issues[0]?.message,
    ).toMatch(/not both/);
    expect(JobSpecSchema.safeParse(spec({ maxLogLossIncrease: -0.1 })).success).toBe(false);
  });
});
