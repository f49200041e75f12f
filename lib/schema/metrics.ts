import { z } from 'zod';

/** Quality of one classifier (member, fusion strategy, stacked model, student) on one slice. */
export const ClassificationMetricsSchema = z
  .object({
    n: z.number().int().nonnegative(),
    accuracy: z.number().min(0).max(1),
    macroF1: z.number().min(0).max(1),
    logLoss: z.number().nonnegative(),
    ece: z.number().min(0).max(1),
    /** fraction of negatives (ham) predicted positive (spam); absent when undefined */
    falsePositiveRate: z.number().min(0).max(1).optional(),
  })
  .strict();

export const SliceMetricsSchema = z.record(z.string(), ClassificationMetricsSchema);

/** One row of models/METRICS.json: who was measured, how big, and how it did per slice. */
export const MetricsRowSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['member', 'fusion', 'stacking', 'student']),
    variant: z.enum(['fp32', 'int8']).optional(),
    bytes: z.number().int().nonnegative().optional(),
    bodyOnly: z.boolean().optional(),
    slices: SliceMetricsSchema,
  })
  .strict();

export const MetricsReportSchema = z
  .object({
    dataset: z.string(),
    split: z
      .object({
        method: z.string(),
        counts: z.record(z.string(), z.number().int().nonnegative()),
      })
      .strict(),
    rows: z.array(MetricsRowSchema),
  })
  .strict();

export type ClassificationMetrics = z.infer<typeof ClassificationMetricsSchema>;
export type MetricsRow = z.infer<typeof MetricsRowSchema>;
export type MetricsReport = z.infer<typeof MetricsReportSchema>;
