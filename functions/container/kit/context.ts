import type {
  EnsembleManifest,
  GateResult,
  JOB_SPEC_SCHEMAS,
  JobKind,
  JobReport,
  JobSpecOf,
} from '../../../lib/schema';
import type { BlobStore } from '../../../lib/store';
import type { Evaluator } from '../../../lib/train';

/** What a job kind's `run` is given. */
export interface JobContext<K extends JobKind = JobKind> {
  id: string;
  spec: JobSpecOf<K>;
  store: BlobStore;
  /** scores members and manifests through the serving engine, cached per (model, dataset) */
  evaluator: Evaluator;
  /** the ensemble version the job started from */
  manifest: EnsembleManifest;
  progress(step: string, fraction: number): Promise<void>;
}

export interface JobOutcome {
  /** the new version to publish (version number assigned at publish); null = nothing to publish */
  candidate: EnsembleManifest | null;
  gate: GateResult;
  report: Pick<JobReport, 'rows' | 'reliability' | 'robustness' | 'curves' | 'notes'>;
}

/** One job kind: its spec schema (from lib/schema's table) and what it does. */
export interface JobKindModule<K extends JobKind> {
  schema: (typeof JOB_SPEC_SCHEMAS)[K];
  run(ctx: JobContext<K>): Promise<JobOutcome>;
}

/**
 * The job's new version of the ensemble: the base with `changes`, and the provenance block every
 * job writes (this job's id, its kind as the tool, the data it learned from, when).
 */
export function candidateOf(
  ctx: JobContext,
  changes: Partial<Omit<EnsembleManifest, 'provenance'>>,
  dataHash?: string,
): EnsembleManifest {
  const base = ctx.manifest;
  return {
    ...base,
    ...changes,
    provenance: {
      ...base.provenance,
      jobId: ctx.id,
      ...(dataHash === undefined ? {} : { dataHash }),
      createdAt: new Date().toISOString(),
      tool: ctx.spec.kind,
    },
  };
}
