import { z } from 'zod';

/** One model's figures in a job report (validation split unless the row's name says otherwise). */
export const ReportRowSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['member', 'ensemble', 'candidate']),
    accuracy: z.number(),
    logLoss: z.number(),
    ece: z.number(),
    macroF1: z.number(),
    bytes: z.number().int().nonnegative(),
    costUnits: z.number().nonnegative(),
  })
  .strict();

export const ReliabilityCurveSchema = z
  .object({
    name: z.string(),
    bins: z.array(z.object({ confidence: z.number(), accuracy: z.number(), count: z.number().int() }).strict()),
  })
  .strict();

export const RobustnessRowSchema = z
  .object({
    name: z.string(),
    clean: z.number(),
    perturbed: z.record(z.string(), z.number()),
  })
  .strict();

/** One point of a binary operating curve: called positive when the score is above `threshold`. */
export const ReportCurvePointSchema = z
  .object({ threshold: z.number(), fpr: z.number(), tpr: z.number(), precision: z.number() })
  .strict();

/**
 * ROC and precision–recall of one model on validation (binary tasks; recall = tpr), sampled, and
 * the point its served decision sits at (the manifest's threshold, or argmax).
 */
export const OperatingCurveSchema = z
  .object({
    name: z.string(),
    /** the label scored as positive */
    positive: z.string(),
    rocAuc: z.number().min(0).max(1),
    points: z.array(ReportCurvePointSchema),
    operatingPoint: ReportCurvePointSchema,
  })
  .strict();

export const GateResultSchema = z.object({ passed: z.boolean(), detail: z.string() }).strict();

/** What the container writes to jobs/{id}/report.json and the edge serves; report.html renders it. */
export const JobReportSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    ensemble: z.string(),
    baseVersion: z.number().int(),
    rows: z.array(ReportRowSchema),
    reliability: z.array(ReliabilityCurveSchema),
    robustness: z.array(RobustnessRowSchema),
    /** binary tasks: ROC / PR per model with its operating point (absent in older reports) */
    curves: z.array(OperatingCurveSchema).optional(),
    gate: GateResultSchema,
    notes: z.array(z.string()),
    executionProvider: z.string(),
    wallSeconds: z.number().nonnegative(),
  })
  .strict();

export type ReportRow = z.infer<typeof ReportRowSchema>;
export type ReliabilityCurve = z.infer<typeof ReliabilityCurveSchema>;
export type RobustnessRow = z.infer<typeof RobustnessRowSchema>;
export type OperatingCurve = z.infer<typeof OperatingCurveSchema>;
export type GateResult = z.infer<typeof GateResultSchema>;
export type JobReport = z.infer<typeof JobReportSchema>;
