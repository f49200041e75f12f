import { z } from 'zod';
import { ModelKeySchema, Sha256Schema } from './keys';
import { DecisionSchema, EnsembleNameSchema, FusionStrategySchema } from './manifest';
import { KeyIdSchema } from './metering';

/**
 * The lifecycle of an ensemble beyond publish and rollback: archive/restore, the version list with
 * provenance, the diff of two versions and the models no live version references. These schemas
 * are the HTTP contract of those routes (the edge answers them, the CLI reads them).
 */

const Version = z.number().int().positive();

/** `POST /v1/ensembles/{name}/archive|restore`: the state after the call. */
export const ArchiveStateSchema = z
  .object({
    name: EnsembleNameSchema,
    archived: z.boolean(),
    /** the current version (kept while archived; restore serves it again) */
    version: z.number().int().nonnegative(),
  })
  .strict();

/**
 * Who published a version: an API key's id (`key_…`), `admin-token` (the bootstrap token), `job`
 * (a request the container signed for a job) or `unknown` (published before provenance was kept).
 */
export const PublisherSchema = z.union([KeyIdSchema, z.enum(['admin-token', 'job', 'unknown'])]);

/** What the registry records when a version is published. */
export const VersionProvenanceSchema = z
  .object({
    version: Version,
    publishedAt: z.string().datetime(),
    publishedBy: PublisherSchema,
    /** the job that produced the manifest (its `provenance.jobId`), null when published by hand */
    jobId: z.string().nullable(),
    /** number of members */
    members: z.number().int().nonnegative(),
  })
  .strict();

export const VersionEntrySchema = VersionProvenanceSchema.extend({ current: z.boolean() }).strict();

/** `GET /v1/ensembles/{name}/versions`: every published version, oldest first. */
export const VersionListSchema = z
  .object({
    name: EnsembleNameSchema,
    current: z.number().int().nonnegative(),
    archived: z.boolean(),
    versions: z.array(VersionEntrySchema),
  })
  .strict();

/** `GET /v1/ensembles/{name}/diff?from=&to=` query. */
export const DiffQuerySchema = z.object({
  from: z.coerce.number().int().positive(),
  to: z.coerce.number().int().positive(),
});

const BeforeAfter = <T extends z.ZodType>(value: T) => z.object({ before: value, after: value }).strict();

/** The served label rule of a version: its default strategy with that strategy's temperature and decision. */
export const DecisionViewSchema = z
  .object({
    strategy: FusionStrategySchema,
    temperature: z.number(),
    /** null: argmax */
    decision: DecisionSchema.nullable(),
    cascadeThreshold: z.number().nullable(),
    quorum: z.number().int(),
    /** fewest members that must answer for an input (1: any one) */
    minAnswering: z.number().int().default(1),
    /** members of which one must answer an input (empty: no such requirement) */
    requireAnyOf: z.array(z.string()).default([]),
  })
  .strict();

/** What differs between two manifest versions (`before` = from, `after` = to). */
export const ManifestDiffSchema = z
  .object({
    name: EnsembleNameSchema,
    from: Version,
    to: Version,
    members: z
      .object({
        added: z.array(z.string()),
        removed: z.array(z.string()),
        /** members in both whose spec differs, with the top-level fields that differ (`model`, `featurizer`, …) */
        changed: z.array(z.object({ id: z.string(), fields: z.array(z.string()) }).strict()),
      })
      .strict(),
    /** effective fusion weights (normalised to sum 1; equal when the manifest sets none) that differ; null = not a member */
    weights: z.array(
      z.object({ member: z.string(), before: z.number().nullable(), after: z.number().nullable() }).strict(),
    ),
    decision: BeforeAfter(DecisionViewSchema).extend({ changed: z.boolean() }).strict(),
    /** members' validation metrics that differ; null = no such figure on that side */
    metrics: z.array(
      z
        .object({
          member: z.string(),
          metric: z.string(),
          before: z.number().nullable(),
          after: z.number().nullable(),
        })
        .strict(),
    ),
  })
  .strict();

/**
 * A stored model that no live version references: no version (current or earlier, since a rollback
 * may return to any) of a non-archived ensemble. `archivedIn` names archived ensembles whose
 * versions still reference it: deleting it would break their restore.
 */
export const UnreferencedModelSchema = z
  .object({
    key: ModelKeySchema,
    sha256: Sha256Schema,
    bytes: z.number().int().nonnegative(),
    archivedIn: z.array(EnsembleNameSchema),
  })
  .strict();

/** `PUT /v1/models` answers this: where the model now lives and its graph's input and output names. */
export const ModelUploadSchema = z.object({
  sha256: Sha256Schema,
  key: ModelKeySchema,
  bytes: z.number().int(),
  inputs: z.array(z.string()),
  outputs: z.array(z.string()),
});

/** `GET /v1/models?unreferenced=true`. */
export const UnreferencedModelListSchema = z.object({ models: z.array(UnreferencedModelSchema) }).strict();

export type ArchiveState = z.infer<typeof ArchiveStateSchema>;
export type Publisher = z.infer<typeof PublisherSchema>;
export type VersionProvenance = z.infer<typeof VersionProvenanceSchema>;
export type VersionEntry = z.infer<typeof VersionEntrySchema>;
export type VersionList = z.infer<typeof VersionListSchema>;
export type DecisionView = z.infer<typeof DecisionViewSchema>;
export type ManifestDiff = z.infer<typeof ManifestDiffSchema>;
export type UnreferencedModel = z.infer<typeof UnreferencedModelSchema>;
export type UnreferencedModelList = z.infer<typeof UnreferencedModelListSchema>;
