import { z } from 'zod';
import { HashedNgramFeaturizerSchema } from './featurizer';
import { DatasetKeySchema, JobIdSchema } from './keys';
import { EnsembleNameSchema } from './manifest';

/** A dataset object in the bucket (key: DatasetKeySchema): JSON lines of {id?, input: {field: value}, label?}. */
export const DatasetRowSchema = z
  .object({
    id: z.string().optional(),
    input: z.record(z.string(), z.unknown()),
    /** class label (a manifest label); absent for unlabeled transfer data */
    label: z.string().optional(),
  })
  .strict();

/**
 * What one job may cost, bounded by product and not only per knob: a spec whose knobs are each
 * within range can still imply gigabytes (2^22 buckets × dim 128 ≈ 2 GiB of embeddings).
 */
export const JOB_LIMITS = Object.freeze({
  /** bytes of a student's trained parameters (embedding table + output layer, float32) */
  studentParameterBytes: 256 << 20,
  /** bytes of one dataset object a job reads */
  datasetBytes: 256 << 20,
});

/** float32 bytes of a fastText student's parameters: (buckets + 1) × dim embeddings, dim × classes out. */
export const studentParameterBytes = (buckets: number, dim: number): number => (buckets + 1) * dim * 4;

const base = {
  /** ensemble the job reads (its current version) and publishes to */
  ensemble: EnsembleNameSchema,
  /** publish when the gate passes (false: artifacts and report only) */
  publish: z.boolean().default(true),
};

/**
 * Quality gates: a model that fails its gate is kept and reported, never published. A log-loss
 * bar is against the current version: at most `maxLogLossIncrease` worse (default 0), or, given
 * instead, at least `minLogLossGain` better.
 */
const LogLossGateSchema = z
  .object({ maxLogLossIncrease: z.number().min(0).optional(), minLogLossGain: z.number().optional() })
  .strict()
  .refine((g) => g.maxLogLossIncrease === undefined || g.minLogLossGain === undefined, {
    message: 'give maxLogLossIncrease or minLogLossGain, not both',
  })
  .default({ maxLogLossIncrease: 0 });
export type LogLossGate = z.infer<typeof LogLossGateSchema>;

export const FitWeightsJobSchema = z
  .object({
    kind: z.literal('fit-weights'),
    ...base,
    validation: DatasetKeySchema,
    method: z.enum(['accuracy', 'ensemble-selection']),
    rounds: z.number().int().positive().max(500).default(25),
    fitTemperature: z.boolean().default(true),
    gate: LogLossGateSchema,
  })
  .strict();

export const StackJobSchema = z
  .object({
    kind: z.literal('stack'),
    ...base,
    train: DatasetKeySchema,
    validation: DatasetKeySchema,
    folds: z.number().int().min(2).max(10).default(5),
    gate: z
      .object({ minLogLossGain: z.number().default(0) })
      .strict()
      .default({ minLogLossGain: 0 }),
  })
  .strict();

/** The default student's bucket count (functions/container/jobs/distill.ts uses the same). */
export const DEFAULT_STUDENT_BUCKETS = 1 << 16;

export const DistillJobSchema = z
  .object({
    kind: z.literal('distill'),
    ...base,
    train: DatasetKeySchema,
    /** unlabeled inputs labelled by the teacher only */
    transfer: DatasetKeySchema.optional(),
    validation: DatasetKeySchema,
    temperature: z.number().positive().max(20).default(2),
    alpha: z.number().min(0).max(1).default(0.5),
    epochs: z.number().int().positive().max(50).default(8),
    dim: z.number().int().positive().max(128).default(16),
    /** initialise from this member's weights (same family and featurizer) */
    initFrom: z.string().optional(),
    /** the student's featurizer (default: word 1-2 grams over every view of the message) */
    featurizer: HashedNgramFeaturizerSchema.optional(),
    gate: z
      .object({ minGainRecovered: z.number().max(1).default(0.8) })
      .strict()
      .default({ minGainRecovered: 0.8 }),
  })
  .strict()
  .refine(
    (s) =>
      studentParameterBytes(s.featurizer?.buckets ?? DEFAULT_STUDENT_BUCKETS, s.dim) <=
      JOB_LIMITS.studentParameterBytes,
    {
      message: `featurizer.buckets × dim implies more than ${JOB_LIMITS.studentParameterBytes / 2 ** 20} MiB of student parameters`,
      path: ['dim'],
    },
  );

export const CompressJobSchema = z
  .object({
    kind: z.literal('compress'),
    ...base,
    member: z.string(),
    validation: DatasetKeySchema,
    /** fraction of the smallest-magnitude weights set to zero before quantization */
    prune: z.number().min(0).max(0.95).default(0),
    gate: z
      .object({ maxAccuracyLoss: z.number().min(0).max(1).default(0.003) })
      .strict()
      .default({ maxAccuracyLoss: 0.003 }),
  })
  .strict();

export const BuildMembersJobSchema = z
  .object({
    kind: z.literal('build-members'),
    ...base,
    /** member whose family and featurizer the new members share */
    like: z.string(),
    train: DatasetKeySchema,
    validation: DatasetKeySchema,
    method: z.enum(['bagging', 'boosting']),
    count: z.number().int().min(1).max(16).default(3),
    seed: z.number().int().default(1),
    gate: LogLossGateSchema,
  })
  .strict();

/**
 * Every job kind and the schema of its spec: the one table the edge validates against and the
 * container's registry (`functions/container/registry.ts`, typed `{ [K in JobKind]: … }`) is keyed by,
 * so a kind added here without a module fails to compile there.
 */
export const JOB_SPEC_SCHEMAS = {
  'fit-weights': FitWeightsJobSchema,
  stack: StackJobSchema,
  distill: DistillJobSchema,
  compress: CompressJobSchema,
  'build-members': BuildMembersJobSchema,
} as const;

export type JobKind = keyof typeof JOB_SPEC_SCHEMAS;
type JobSpecSchemaOf<K extends JobKind> = (typeof JOB_SPEC_SCHEMAS)[K];

/** Any job spec, discriminated by `kind`: the union of the table's schemas. */
export const JobSpecSchema = z.discriminatedUnion(
  'kind',
  // Object.values loses the table's non-emptiness, which the literal above guarantees.
  Object.values(JOB_SPEC_SCHEMAS) as [JobSpecSchemaOf<JobKind>, ...JobSpecSchemaOf<JobKind>[]],
);

export const JobPhaseSchema = z.enum(['queued', 'running', 'publishing', 'succeeded', 'gated', 'failed']);

export const JobStatusSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    ensemble: z.string(),
    phase: JobPhaseSchema,
    /** 0..1 */
    progress: z.number().min(0).max(1),
    step: z.string(),
    executionProvider: z.string().optional(),
    attempts: z.number().int().nonnegative(),
    publishedVersion: z.number().int().optional(),
    gate: z.object({ passed: z.boolean(), detail: z.string() }).strict().optional(),
    error: z.string().optional(),
    /** seconds the container has spent running this job, summed over attempts (what a key is charged) */
    computeSeconds: z.number().nonnegative().optional(),
    updatedAt: z.string(),
  })
  .strict();

/** What the edge forwards to the container: the validated spec and its id. */
export const JobEnvelopeSchema = z.object({ id: JobIdSchema, spec: JobSpecSchema }).strict();

export type DatasetRow = z.infer<typeof DatasetRowSchema>;
export type JobSpec = z.infer<typeof JobSpecSchema>;
/** The spec of one kind. */
export type JobSpecOf<K extends JobKind> = z.infer<JobSpecSchemaOf<K>>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;
export type FitWeightsJob = z.infer<typeof FitWeightsJobSchema>;
export type StackJob = z.infer<typeof StackJobSchema>;
export type DistillJob = z.infer<typeof DistillJobSchema>;
export type CompressJob = z.infer<typeof CompressJobSchema>;
export type BuildMembersJob = z.infer<typeof BuildMembersJobSchema>;
export type JobPhase = z.infer<typeof JobPhaseSchema>;
export type JobStatus = z.infer<typeof JobStatusSchema>;
export type JobEnvelope = z.infer<typeof JobEnvelopeSchema>;
