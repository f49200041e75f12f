import { z } from 'zod';
import { FeaturizerSpecSchema, featurizerOutputs } from './featurizer';
import { ModelKeySchema, Sha256Schema } from './keys';
import { ClassificationMetricsSchema } from './metrics';
import { notBuiltin, safeRecord } from './names';
/**
 * Bounds on what one manifest may declare, so the work and memory a request can imply stay
 * bounded by the product of these (SECURITY.md lists them).
 */
export const MANIFEST_LIMITS = Object.freeze({
  members: 32,
  fields: 16,
  labels: 1000,
  /** elements of one tensor field per example */
  tensorElements: 2 ** 20,
  /** a fusion weight (weights are normalised; larger values only invite overflow) */
  weight: 1e6,
  /** magnitude of a meta-learner coefficient or intercept */
  coefficient: 1e6,
});

const BoundedNumber = z.number().min(-MANIFEST_LIMITS.coefficient).max(MANIFEST_LIMITS.coefficient);

export const EnsembleNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63');

/** Whether a string can name an ensemble (checked before a name reaches a cache or an object). */
export const isEnsembleName = (name: string): boolean => EnsembleNameSchema.safeParse(name).success;

/**
 * The tensor element types Chorus feeds to models and accepts in requests (one list, used
 * everywhere); float64 for graphs exported with double inputs (skl2onnx's DoubleTensorType).
 */
export const TensorDtypeSchema = z.enum(['float32', 'float64', 'int64', 'int32']);

/** Model families that Chorus trains and can retrain (stacking folds, build-members, distillation). */
export const FamilySchema = z.enum(['logreg', 'naive-bayes', 'fasttext', 'mlp']);

export const TextFieldSpecSchema = z
  .object({
    type: z.literal('text'),
    /** `rfc822`: a whole e-mail message, parsed once per request */
    format: z.enum(['plain', 'rfc822']).default('plain'),
    maxLength: z.number().int().positive().max(1_000_000).default(200_000),
    required: z.boolean().default(true),
  })
  .strict();

export const TensorFieldSpecSchema = z
  .object({
    type: z.literal('tensor'),
    dtype: TensorDtypeSchema,
    /** per-example shape (no batch dimension) */
    shape: z.array(z.number().int().positive()).min(1).max(4),
  })
  .strict()
  .refine((t) => t.shape.reduce((a, b) => a * b, 1) <= MANIFEST_LIMITS.tensorElements, {
    message: `a tensor field holds at most ${MANIFEST_LIMITS.tensorElements} elements per example`,
    path: ['shape'],
  });

export const FieldSpecSchema = z.discriminatedUnion('type', [TextFieldSpecSchema, TensorFieldSpecSchema]);

export const InputSpecSchema = z
  .object({
    fields: safeRecord(FieldSpecSchema, z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/))
      .refine((f) => Object.keys(f).length > 0, 'an input spec needs at least one field')
      .refine((f) => Object.keys(f).length <= MANIFEST_LIMITS.fields, `at most ${MANIFEST_LIMITS.fields} input fields`),
  })
  .strict();

/** Models are content-addressed: the key is exactly models/{sha256}.onnx of the model's own sha256. */
export const ModelRefSchema = z
  .object({
    key: ModelKeySchema,
    sha256: Sha256Schema,
    bytes: z.number().int().positive(),
  })
  .strict()
  .refine((m) => m.key === `models/${m.sha256}.onnx`, {
    message: 'the model key must be models/{sha256}.onnx for its own sha256',
    path: ['key'],
  });

export const MemberSpecSchema = z
  .object({
    id: notBuiltin(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)),
    model: ModelRefSchema,
    /** absent for models brought by the user (they are scored, never retrained) */
    family: FamilySchema.optional(),
    /** hyper-parameters the member was trained with, so jobs can retrain it (stacking folds) */
    training: z.record(z.string(), z.number()).optional(),
    variant: z.enum(['fp32', 'int8']).optional(),
    featurizer: FeaturizerSpecSchema,
    /** the graph's one input, fed the featurizer's one output (`features`); or use `inputs` */
    inputName: z.string().min(1).optional(),
    /**
     * graph input name → featurizer output name, for graphs with several inputs (a transformer's
     * `input_ids`, `attention_mask`, `token_type_ids`); exactly one of `inputName` and `inputs`
     */
    inputs: safeRecord(z.string().min(1), z.string().min(1).max(128)).optional(),
    outputName: z.string().min(1),
    /**
     * `probabilities` or `logits` (soft-maxed): one value per label, [batch, labels]. Binary tasks
     * may instead give one value per example ([batch] or [batch, 1]) for the second label:
     * `positive-probability` (a sigmoid's output, as Keras writes binary classifiers) or
     * `positive-logit` (before the sigmoid, as a model trained with BCEWithLogits ends); the first
     * label gets the rest.
     */
    output: z.enum(['probabilities', 'logits', 'positive-probability', 'positive-logit']),
    /** relative cost of running the member; the cascade runs cheapest first */
    costUnits: z.number().positive().default(1),
    /**
     * when the member has no evidence for an input it abstains: no weight in any strategy, not
     * charged, listed in the answer's `abstained`. `minTokens`: the member's view (or text field)
     * holds fewer word tokens than this (lib/ensemble/abstain.ts).
     */
    abstain: z
      .object({ minTokens: z.number().int().positive().max(10_000) })
      .strict()
      .optional(),
    metrics: ClassificationMetricsSchema.optional(),
  })
  .strict();

export const FusionStrategySchema = z.enum(['hard', 'soft', 'geometric', 'stacking']);

/**
 * What a meta-learner reads per member (C values each): `probabilities` (legacy) or `log-odds`
 * (log p_k − log p_0 for k ≥ 1, then an abstention indicator; lib/fusion metaFeatureRow).
 */
export const MetaFeaturesSchema = z.enum(['probabilities', 'log-odds']);

/** Multinomial logistic regression over the members' meta-features, side by side. */
export const MetaLearnerSchema = z
  .object({
    kind: z.literal('logistic'),
    /** absent = `probabilities` */
    features: MetaFeaturesSchema.optional(),
    /** member order of the concatenated features */
    members: z.array(z.string()).min(1),
    /** [classes][members × classes] */
    coef: z.array(z.array(BoundedNumber)),
    intercept: z.array(BoundedNumber),
  })
  .strict();

/**
 * How the label is read from a strategy's calibrated distribution. `threshold` (binary or
 * one-vs-rest): `positive` when its probability is above `threshold`, else the most probable other
 * label. `costs`: the label of least expected cost, costs[true label][answered label] in label
 * order. `target` says, for humans, what the decision was fitted for.
 */
export const DecisionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('threshold'),
      positive: z.string().min(1),
      threshold: z.number().gt(0).lt(1),
      target: z.string().max(500).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('costs'),
      costs: z.array(z.array(z.number().nonnegative().max(MANIFEST_LIMITS.weight))),
      target: z.string().max(500).optional(),
    })
    .strict(),
]);

/** A strategy's own temperature and decision, fitted for that strategy. */
export const StrategyCalibrationSchema = z
  .object({
    /** applied to the fused distribution (1 = none; never to hard-vote shares) */
    temperature: z.number().min(1e-3).max(1e3).default(1),
    decision: DecisionSchema.optional(),
  })
  .strict();

export const FusionSpecSchema = z
  .object({
    strategy: FusionStrategySchema,
    /** member id → non-negative weight; missing members weigh 0, absent map = equal weights */
    weights: safeRecord(z.number().nonnegative().max(MANIFEST_LIMITS.weight)).optional(),
    /** how the weights were obtained, for humans */
    weightsFrom: z.enum(['equal', 'manual', 'accuracy', 'ensemble-selection']).optional(),
    metaLearner: MetaLearnerSchema.optional(),
    /**
     * temperature applied to the default strategy's fused distribution (1 = none), when
     * `calibration` has no entry for it; other strategies a request asks for are not scaled by it
     */
    temperature: z.number().min(1e-3).max(1e3).default(1),
    /** per strategy: its temperature and decision (operating point) */
    calibration: z
      .object({
        hard: StrategyCalibrationSchema.optional(),
        soft: StrategyCalibrationSchema.optional(),
        geometric: StrategyCalibrationSchema.optional(),
        stacking: StrategyCalibrationSchema.optional(),
      })
      .strict()
      .optional(),
    /** class distribution answered when every member abstains (label order; uniform when absent) */
    prior: z.array(z.number().nonnegative().max(1)).optional(),
    /** run members cheapest first and stop once the fused margin reaches this */
    cascadeThreshold: z.number().min(0).max(1).optional(),
    /** fewest surviving members that may answer */
    quorum: z.number().int().positive().default(1),
    /**
     * fewest members that must answer (not abstain) for an input: with fewer, the input is answered
     * by the prior with `abstained: "all"`, as when every member abstains (one view alone is not
     * evidence enough). 1 when absent.
     */
    minAnswering: z.number().int().positive().optional(),
    /**
     * members of which at least one must answer an input (e.g. those that read the message body):
     * without one, the input is answered by the prior with `abstained: "all"`, whatever the others
     * say (a subject line alone is not evidence). No requirement when absent.
     */
    requireAnyOf: z.array(z.string().max(64)).min(1).max(MANIFEST_LIMITS.members).optional(),
  })
  .strict();

export const ProvenanceSchema = z
  .object({
    jobId: z.string().optional(),
    dataHash: z.string().optional(),
    createdAt: z.string().datetime(),
    tool: z.string().optional(),
  })
  .strict();

export const EnsembleManifestSchema = z
  .object({
    name: EnsembleNameSchema,
    version: z.number().int().positive(),
    task: z.literal('classification'),
    labels: z
      .array(notBuiltin(z.string().min(1).max(128)))
      .min(2)
      .max(MANIFEST_LIMITS.labels),
    input: InputSpecSchema,
    members: z.array(MemberSpecSchema).min(1).max(MANIFEST_LIMITS.members),
    fusion: FusionSpecSchema,
    provenance: ProvenanceSchema,
  })
  .strict()
  .superRefine((m, ctx) => {
    const ids = new Set<string>();
    m.members.forEach((member, i) => {
      if (ids.has(member.id)) {
        ctx.addIssue({ code: 'custom', path: ['members', i, 'id'], message: 'duplicate member id' });
      }
      ids.add(member.id);
      checkMemberInputs(member, i, ctx);
      if (member.output.startsWith('positive-') && m.labels.length !== 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i, 'output'],
          message: `'${member.output}' is one value for the second of two labels; this task has ${m.labels.length}`,
        });
      }
      // own names only: a field called `toString` is no field of a plain object
      const name = member.featurizer.field;
      const field = Object.hasOwn(m.input.fields, name) ? m.input.fields[name] : undefined;
      if (!field) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i, 'featurizer', 'field'],
          message: `field '${member.featurizer.field}' is not declared in input.fields`,
        });
      } else if ((member.featurizer.kind === 'tensor') !== (field.type === 'tensor')) {
        // the tensor featurizer passes a tensor field through; every other kind reads text
        ctx.addIssue({
          code: 'custom',
          path: ['members', i, 'featurizer', 'field'],
          message: `the ${member.featurizer.kind} featurizer cannot read field '${member.featurizer.field}', a ${field.type} field`,
        });
      }
    });
    for (const id of Object.keys(m.fusion.weights ?? {})) {
      if (!ids.has(id)) {
        ctx.addIssue({ code: 'custom', path: ['fusion', 'weights', id], message: 'unknown member' });
      }
    }
    if (m.labels.length !== new Set(m.labels).size) {
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'labels must be distinct' });
    }
    if (m.fusion.strategy === 'stacking' && !m.fusion.metaLearner) {
      ctx.addIssue({ code: 'custom', path: ['fusion', 'metaLearner'], message: 'stacking needs a metaLearner' });
    }
    const meta = m.fusion.metaLearner;
    if (meta) checkMetaLearnerShape(meta, ids, m.labels.length, ctx);
    if (m.fusion.prior) {
      const sum = m.fusion.prior.reduce((a, b) => a + b, 0);
      if (m.fusion.prior.length !== m.labels.length || Math.abs(sum - 1) > 1e-6)
        ctx.addIssue({
          code: 'custom',
          path: ['fusion', 'prior'],
          message: `prior must have ${m.labels.length} values summing to 1`,
        });
    }
    for (const [strategy, cal] of Object.entries(m.fusion.calibration ?? {})) {
      const d = cal?.decision;
      const path = ['fusion', 'calibration', strategy, 'decision'];
      if (d?.kind === 'threshold' && !m.labels.includes(d.positive))
        ctx.addIssue({ code: 'custom', path: [...path, 'positive'], message: `unknown label '${d.positive}'` });
      if (
        d?.kind === 'costs' &&
        (d.costs.length !== m.labels.length || d.costs.some((r) => r.length !== m.labels.length))
      )
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'costs'],
          message: `costs must be ${m.labels.length} × ${m.labels.length}`,
        });
    }
    for (const [k, id] of (m.fusion.requireAnyOf ?? []).entries()) {
      if (!ids.has(id))
        ctx.addIssue({ code: 'custom', path: ['fusion', 'requireAnyOf', k], message: `unknown member '${id}'` });
    }
    if ((m.fusion.minAnswering ?? 1) > m.members.length) {
      ctx.addIssue({ code: 'custom', path: ['fusion', 'minAnswering'], message: 'minAnswering exceeds member count' });
    }
    if (m.fusion.quorum > m.members.length) {
      ctx.addIssue({ code: 'custom', path: ['fusion', 'quorum'], message: 'quorum exceeds member count' });
    }
  });

export type TextFieldSpec = z.infer<typeof TextFieldSpecSchema>;

/** A member names its graph input(s) one way, and maps only outputs its featurizer makes. */
function checkMemberInputs(member: z.infer<typeof MemberSpecSchema>, i: number, ctx: z.RefinementCtx): void {
  const { inputName, inputs } = member;
  if ((inputName === undefined) === (inputs === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['members', i, inputs ? 'inputs' : 'inputName'],
      message: 'give exactly one of inputName (one graph input) and inputs (graph input → featurizer output)',
    });
  }
  const made = featurizerOutputs(member.featurizer);
  if (inputName !== undefined && inputs === undefined && !made.includes('features')) {
    ctx.addIssue({
      code: 'custom',
      path: ['members', i, 'inputName'],
      message: `inputName feeds one 'features' output, which the ${member.featurizer.kind} featurizer does not make (it makes ${made.join(', ')}): map each with inputs`,
    });
  }
  if (!inputs) return;
  if (Object.keys(inputs).length === 0) {
    ctx.addIssue({ code: 'custom', path: ['members', i, 'inputs'], message: 'map at least one graph input' });
  }
  for (const [graphInput, output] of Object.entries(inputs)) {
    if (!made.includes(output))
      ctx.addIssue({
        code: 'custom',
        path: ['members', i, 'inputs', graphInput],
        message: `the ${member.featurizer.kind} featurizer makes no '${output}' (it makes ${made.join(', ')})`,
      });
  }
}
/** The meta-learner must name distinct members of this manifest and have [classes][members × classes] coefficients. */
function checkMetaLearnerShape(
  meta: { members: string[]; coef: number[][]; intercept: number[] },
  ids: ReadonlySet<string>,
  classes: number,
  ctx: z.RefinementCtx,
): void {
  const path = ['fusion', 'metaLearner'];
  meta.members.forEach((id, k) => {
    if (!ids.has(id))
      ctx.addIssue({ code: 'custom', path: [...path, 'members', k], message: `unknown member '${id}'` });
  });
  if (new Set(meta.members).size !== meta.members.length) {
    ctx.addIssue({ code: 'custom', path: [...path, 'members'], message: 'members must be distinct' });
  }
  const width = meta.members.length * classes;
  if (meta.coef.length !== classes || meta.coef.some((row) => row.length !== width)) {
    ctx.addIssue({ code: 'custom', path: [...path, 'coef'], message: `coef must be [${classes}][${width}]` });
  }
  if (meta.intercept.length !== classes) {
    ctx.addIssue({ code: 'custom', path: [...path, 'intercept'], message: `intercept must have ${classes} values` });
  }
}

export type TensorDtype = z.infer<typeof TensorDtypeSchema>;
/** What a featurizer can hand a graph: a tensor field's dtypes, and text (the text featurizer). */
export type FeatureDtype = TensorDtype | 'string';
export type Family = z.infer<typeof FamilySchema>;
export type TensorFieldSpec = z.infer<typeof TensorFieldSpecSchema>;
export type FieldSpec = z.infer<typeof FieldSpecSchema>;
export type InputSpec = z.infer<typeof InputSpecSchema>;
export type MemberSpec = z.infer<typeof MemberSpecSchema>;
export type FusionStrategy = z.infer<typeof FusionStrategySchema>;
export type FusionSpec = z.infer<typeof FusionSpecSchema>;
export type MetaLearner = z.infer<typeof MetaLearnerSchema>;
export type MetaFeatures = z.infer<typeof MetaFeaturesSchema>;
export type Decision = z.infer<typeof DecisionSchema>;
export type StrategyCalibration = z.infer<typeof StrategyCalibrationSchema>;
export type EnsembleManifest = z.infer<typeof EnsembleManifestSchema>;
export type EnsembleManifestInput = z.input<typeof EnsembleManifestSchema>;
