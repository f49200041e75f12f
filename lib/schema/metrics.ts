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
    /** fraction of positives (spam) predicted positive: spam recall; absent when undefined */
    truePositiveRate: z.number().min(0).max(1).optional(),
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
    /** operating point (spam when p(spam) is above it), fitted on validation */
    threshold: z.number().min(0).max(1).optional(),
    /** temperature fitted on validation */
    temperature: z.number().positive().optional(),
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
    /** robustness slices: name → how each message is rewritten */
    slices: z.record(z.string(), z.string()).optional(),
    /** the served default: how it was chosen, its operating point and its test ROC / PR curve */
    default: z
      .object({
        name: z.string(),
        strategy: z.string(),
        temperature: z.number().positive(),
        threshold: z.number().min(0).max(1),
        target: z.string(),
        rule: z.string(),
        choice: z.array(
          z
            .object({
              name: z.string(),
              eligible: z.boolean(),
              /** validation cost per message at the operating point (each message's rows as sent and in every slice averaged) */
              cost: z.number(),
              /** its standard error over validation messages */
              costSe: z.number().nonnegative(),
              /** fusion parameters fitted beyond the temperature (weights, a meta-learner) */
              fittedParameters: z.number().int().nonnegative(),
              accuracy: z.number(),
              logLoss: z.number(),
              fpr: z.number(),
              worstSliceFpr: z.number(),
              worstSliceRecall: z.number(),
            })
            .strict(),
        ),
        rocAuc: z.number().min(0).max(1),
        curve: z.array(
          z.object({ threshold: z.number(), fpr: z.number(), tpr: z.number(), precision: z.number() }).strict(),
        ),
      })
      .strict()
      .optional(),
    rows: z.array(MetricsRowSchema),
  })
  .strict();

export type ClassificationMetrics = z.infer<typeof ClassificationMetricsSchema>;
export type MetricsRow = z.infer<typeof MetricsRowSchema>;
export type MetricsReport = z.infer<typeof MetricsReportSchema>;
