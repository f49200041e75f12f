/**
 * Job kinds as a table: kind → module ({ schema, run }). Typed over lib/schema's JOB_SPEC_SCHEMAS,
 * so a kind added there without a module here (or a module with another kind's schema) does not
 * compile. The runner dispatches from this table; job modules never import each other.
 */
import type { JobKind } from '../../lib/schema';
import * as buildMembers from './jobs/build-members';
import * as compress from './jobs/compress';
import * as distill from './jobs/distill';
import * as fitWeights from './jobs/fit-weights';
import * as stack from './jobs/stack';
import type { JobContext, JobKindModule, JobOutcome } from './kit/context';

export const JOB_MODULES: { readonly [K in JobKind]: JobKindModule<K> } = {
  'fit-weights': fitWeights,
  stack,
  distill,
  compress,
  'build-members': buildMembers,
};

/** Runs a job with its kind's module. */
export function runJobKind<K extends JobKind>(kind: K, ctx: JobContext<K>): Promise<JobOutcome> {
  return JOB_MODULES[kind].run(ctx);
}
