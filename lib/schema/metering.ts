import { z } from 'zod';
import { EnsembleNameSchema } from './manifest';

/** What a key may do: `admin` grants every route (and so every other scope). */
export const ScopeSchema = z.enum(['predict', 'batch', 'jobs', 'admin']);

/** Token bucket: `requests` per `window_seconds`, refilled continuously; bursts up to `requests`. */
export const RateLimitSchema = z
  .object({
    requests: z.number().int().min(1).max(1_000_000),
    window_seconds: z.number().int().min(1).max(86_400),
  })
  .strict();

/** A public key id, safe to log: `key_` + base58. */
export const KeyIdSchema = z.string().regex(/^key_[1-9A-HJ-NP-Za-km-z]{6,20}$/, 'a key id: key_ + base58');

/** Who is billed: a Stripe customer id or any reference of the billing system (no commas or quotes, for CSV). */
export const CustomerRefSchema = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'a customer reference');

/**
 * Units are booked in thousandths (lib/metering toMilli): an amount with more decimals would be
 * rounded, and one below 0.001 would silently become nothing.
 */
const UnitsSchema = z
  .number()
  .positive()
  .max(1e12)
  .refine((u) => Math.abs(u * 1000 - Math.round(u * 1000)) < 1e-6, 'units have at most three decimals (0.001)');

export const CreateKeyRequestSchema = z
  .object({
    name: z.string().min(1).max(64),
    scopes: z
      .array(ScopeSchema)
      .min(1)
      .refine((s) => new Set(s).size === s.length, 'scopes must be distinct'),
    /** allow-list of ensembles; absent = every ensemble */
    ensembles: z.array(EnsembleNameSchema).min(1).max(64).optional(),
    rate_limit: RateLimitSchema.default({ requests: 600, window_seconds: 60 }),
    /** prepaid units (top up with POST /v1/keys/{id}/credit); absent = unmetered budget */
    budget_units: UnitsSchema.optional(),
    /** billing reference in exports; defaults to the key id */
    customer: CustomerRefSchema.optional(),
  })
  .strict();

export const CreditRequestSchema = z.object({ units: UnitsSchema }).strict();

export const KeyInfoSchema = z
  .object({
    id: KeyIdSchema,
    name: z.string(),
    /** the key's first characters, for recognising it */
    prefix: z.string(),
    scopes: z.array(ScopeSchema),
    ensembles: z.array(EnsembleNameSchema).nullable(),
    rate_limit: RateLimitSchema,
    /** whether the key draws on prepaid units (402 when they run out) */
    metered_budget: z.boolean(),
    customer: CustomerRefSchema,
    created_at: z.string().datetime(),
    revoked_at: z.string().datetime().nullable(),
  })
  .strict();

/** The answer to a key creation: the only time the key itself is shown. */
export const CreatedKeySchema = KeyInfoSchema.extend({ key: z.string() }).strict();
export const KeyListSchema = z.object({ keys: z.array(KeyInfoSchema) }).strict();

/** A calendar day that exists (2026-02-30 does not), YYYY-MM-DD, UTC. */
const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .refine((day) => {
    const ms = Date.parse(`${day}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === day;
  }, 'not a calendar day');

export const UsageQuerySchema = z.object({ from: DaySchema.optional(), to: DaySchema.optional() }).strict();

export const UsageRowSchema = z
  .object({ day: DaySchema, ensemble: z.string(), units: z.number(), requests: z.number().int() })
  .strict();

export const UsageResponseSchema = z
  .object({
    key: KeyIdSchema,
    /** prepaid units left; null when the key has no budget */
    remaining_units: z.number().nullable(),
    totals: z.object({ units: z.number(), requests: z.number().int() }).strict(),
    days: z.array(UsageRowSchema),
  })
  .strict();

export const ExportFormatSchema = z.enum(['ndjson', 'csv']);

/** Hours [from, to): ISO timestamps; both are truncated to the hour. */
export const UsageExportQuerySchema = z
  .object({
    from: z.string().datetime({ offset: true }),
    to: z.string().datetime({ offset: true }),
    format: ExportFormatSchema.default('ndjson'),
  })
  .strict()
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['to'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 35 * 86_400_000, {
    message: 'at most 35 days per export (billing systems refuse older events)',
    path: ['from'],
  });

/** One billing record: Stripe's meter event shape (the identifier dedupes re-exports). */
export const MeterEventSchema = z
  .object({
    event_name: z.string(),
    payload: z.object({ stripe_customer_id: CustomerRefSchema, value: z.string().regex(/^\d+(\.\d+)?$/) }).strict(),
    identifier: z.string(),
    /** unix seconds: the start of the hour */
    timestamp: z.number().int(),
  })
  .strict();

export const PublicEnsembleSchema = z.object({ name: EnsembleNameSchema, public: z.boolean() }).strict();
export const PublicEnsembleListSchema = z.object({ ensembles: z.array(EnsembleNameSchema) }).strict();

export type Scope = z.infer<typeof ScopeSchema>;
export type RateLimit = z.infer<typeof RateLimitSchema>;
export type CreateKeyRequest = z.infer<typeof CreateKeyRequestSchema>;
export type KeyInfo = z.infer<typeof KeyInfoSchema>;
export type CreatedKey = z.infer<typeof CreatedKeySchema>;
export type UsageRow = z.infer<typeof UsageRowSchema>;
export type UsageResponse = z.infer<typeof UsageResponseSchema>;
export type ExportFormat = z.infer<typeof ExportFormatSchema>;
export type MeterEvent = z.infer<typeof MeterEventSchema>;
