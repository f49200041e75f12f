import { z } from 'zod';
import { FusionStrategySchema, TensorDtypeSchema } from './manifest';
import { safeRecord } from './names';

/**
 * A tensor's values: finite numbers. The first bad entry ends validation; zod alone builds an
 * issue per entry, and a 1 MiB body of 200,000 strings cost 0.4 s of CPU to refuse.
 */
const FiniteNumbersSchema = z.preprocess((raw, ctx) => {
  if (!Array.isArray(raw)) return raw;
  for (let i = 0; i < raw.length; i++) {
    const x: unknown = raw[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      ctx.addIssue({ code: 'custom', message: `data[${i}] is not a finite number`, continue: false });
      break;
    }
  }
  return raw;
}, z.array(z.number().finite()));

/** A tensor value in a request: flat data in row-major order. */
export const TensorValueSchema = z
  .object({
    dtype: TensorDtypeSchema,
    shape: z.array(z.number().int().nonnegative()).min(1).max(4),
    data: FiniteNumbersSchema,
  })
  .strict();

export const InputValueSchema = z.union([z.string(), TensorValueSchema]);

/** One example: field name → text or tensor, as the manifest's input spec declares. */
export const PredictInputSchema = safeRecord(InputValueSchema);

/** Fields across all of a request's inputs: zod's cost to refuse a body grows with them. */
export const MAX_REQUEST_FIELDS = 1024;
export const MAX_PREDICT_INPUTS = 64;

/** More than MAX_PREDICT_INPUTS inputs, or more than MAX_REQUEST_FIELDS fields among them, is refused before any is validated. */
const InputsSchema = z.preprocess((raw, ctx) => {
  if (!Array.isArray(raw)) return raw;
  let fields = 0;
  for (const input of raw.slice(0, MAX_PREDICT_INPUTS + 1)) {
    if (typeof input === 'object' && input !== null) for (const _ in input) fields++;
    if (fields > MAX_REQUEST_FIELDS || raw.length > MAX_PREDICT_INPUTS) {
      const message =
        raw.length > MAX_PREDICT_INPUTS
          ? `at most ${MAX_PREDICT_INPUTS} inputs`
          : `more than ${MAX_REQUEST_FIELDS} fields in all`;
      ctx.addIssue({ code: 'custom', message, continue: false });
      break;
    }
  }
  return raw;
}, z.array(PredictInputSchema).min(1).max(MAX_PREDICT_INPUTS));

export const PredictRequestSchema = z
  .object({
    inputs: InputsSchema,
    /** override the manifest's fusion strategy for this call */
    strategy: FusionStrategySchema.optional(),
    return_members: z.boolean().default(false),
  })
  .strict();

export const UncertaintySchema = z
  .object({
    /** entropy of the fused distribution in nats */
    entropy: z.number().nonnegative(),
    /** top-1 minus top-2 fused probability (vote share for hard voting) */
    margin: z.number().min(0).max(1),
    /** fraction of members whose argmax differs from the fused label */
    disagreement: z.number().min(0).max(1),
  })
  .strict();

export const PredictionSchema = z
  .object({
    label: z.string(),
    probabilities: z.record(z.string(), z.number()),
    uncertainty: UncertaintySchema,
    /**
     * members that abstained for this input (no evidence in their view; no weight, not charged);
     * `all` when every member that answered abstained, or fewer answered than `fusion.minAnswering`,
     * or none of `fusion.requireAnyOf`:
     * the answer is then the ensemble's prior (`fusion.prior`, uniform when absent) with the label
     * its decision gives, not a member's view, and no member is charged for it
     */
    abstained: z.union([z.array(z.string()), z.literal('all')]),
    /**
     * with a cascade (`fusion.cascadeThreshold`): the members this input's answer was fused from,
     * those run until its own margin reached the threshold (others in the call may need more),
     * less those that abstained for it
     */
    ran: z.array(z.string()).optional(),
    /** per member whose answer this input's answer used (abstaining members are left out; none when the prior answered) */
    members: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  })
  .strict();

export const PredictResponseSchema = z
  .object({
    ensemble: z.string(),
    version: z.number().int().positive(),
    strategy: FusionStrategySchema,
    predictions: z.array(PredictionSchema),
    /** members that ran (a member that abstained for every input is not run) */
    ran: z.array(z.string()),
    /** members dropped because they failed to load or run, with the reason */
    degraded: z.array(z.object({ member: z.string(), reason: z.string() }).strict()),
    /** units: Σ over inputs of the costUnits of members that ran and did not abstain for it (none for an input the prior answered) */
    usage: z.object({ units: z.number().nonnegative(), inputs: z.number().int() }).strict(),
  })
  .strict();

export type TensorValue = z.infer<typeof TensorValueSchema>;
export type InputValue = z.infer<typeof InputValueSchema>;
export type PredictInput = z.infer<typeof PredictInputSchema>;
export type PredictRequest = z.infer<typeof PredictRequestSchema>;
export type Uncertainty = z.infer<typeof UncertaintySchema>;
export type Prediction = z.infer<typeof PredictionSchema>;
export type PredictResponse = z.infer<typeof PredictResponseSchema>;
