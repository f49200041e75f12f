/** Job kinds are one table: lib/schema's spec schemas and the container's modules agree, in types and at run time. */
import { describe, expect, it } from 'vitest';
import type { JobKindModule } from '../../functions/container/kit/context';
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
