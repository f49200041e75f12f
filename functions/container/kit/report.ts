import { strategyCalibration } from '../../../lib/ensemble';
import { operatingCurve, type ProbMatrix, rocAuc } from '../../../lib/fusion';
import type {
  EnsembleManifest,
  LogLossGate,
  OperatingCurve,
  PredictInput,
  ReliabilityCurve,
  ReportRow,
  RobustnessRow,
} from '../../../lib/schema';
import { calibrationBins, classificationMetrics, selectRows } from '../../../lib/train';
import { PERTURBATIONS, perturb } from '../perturb';
import type { JobContext, JobOutcome } from './context';
import { type Dataset, labeled } from './datasets';

export function reportRow(
  name: string,
  kind: ReportRow['kind'],
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  bytes: number,
  costUnits: number,
): ReportRow {
  const m = classificationMetrics(probs, labels);
  return { name, kind, accuracy: m.accuracy, logLoss: m.logLoss, ece: m.ece, macroF1: m.macroF1, bytes, costUnits };
}

export function reliability(name: string, probs: ProbMatrix, labels: ArrayLike<number>, bins = 10): ReliabilityCurve {
  return { name, bins: calibrationBins(probs, labels, bins) };
}

/** Points kept of an operating curve (one per distinct score otherwise: thousands). */
const CURVE_POINTS = 200;

/**
 * ROC / PR of a binary model and where its served decision sits: the manifest's threshold for its
 * default strategy (positive when p > threshold), else argmax (p > 0.5). Null for more classes.
 */
export function operatingCurveOf(
  name: string,
  manifest: EnsembleManifest,
  probs: ProbMatrix,
  labels: ArrayLike<number>,
): OperatingCurve | null {
  if (manifest.labels.length !== 2 || probs.c !== 2) return null;
  const rule = strategyCalibration(manifest, manifest.fusion.strategy).decision;
  const positive = rule?.kind === 'threshold' && rule.positive >= 0 ? rule.positive : 1;
  const threshold = rule?.kind === 'threshold' ? rule.threshold : 0.5;
  const scores = Array.from({ length: probs.n }, (_, i) => probs.data[i * 2 + positive] as number);
  const truths = Array.from({ length: probs.n }, (_, i) => labels[i] === positive);
  const curve = operatingCurve(scores, truths);
  const step = Math.max(1, Math.ceil(curve.length / CURVE_POINTS));
  const points = curve.filter((_, k) => k % step === 0 || k === curve.length - 1);
  let tp = 0;
  let fp = 0;
  let P = 0;
  scores.forEach((s, i) => {
    if (truths[i]) P++;
    if (s > threshold) truths[i] ? tp++ : fp++;
  });
  const N = scores.length - P;
  const operatingPoint = {
    threshold,
    fpr: N === 0 ? 0 : fp / N,
    tpr: P === 0 ? 0 : tp / P,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
  };
  return { name, positive: manifest.labels[positive] as string, rocAuc: rocAuc(curve), points, operatingPoint };
}

const bytesOf = (m: EnsembleManifest): number => m.members.reduce((s, x) => s + x.model.bytes, 0);
const costOf = (m: EnsembleManifest): number => m.members.reduce((s, x) => s + x.costUnits, 0);

/** Seeded perturbed copies of a dataset's text fields (tensor ensembles: none). */
export function perturbedDatasets(manifest: EnsembleManifest, d: Dataset): { kind: string; dataset: Dataset }[] {
  const textFields = Object.entries(manifest.input.fields).filter(([, f]) => f.type === 'text');
  if (textFields.length === 0) return [];
  return PERTURBATIONS.map((kind, k) => ({
    kind,
    dataset: {
      ...d,
      key: `${d.key}#${kind}`,
      hash: `${d.hash}-${kind}-v1`,
      inputs: d.inputs.map((input, i) => {
        const out: PredictInput = { ...input };
        for (const [name, f] of textFields) {
          const v = input[name];
          if (typeof v === 'string' && f.type === 'text')
            out[name] = perturb(v, f.format === 'rfc822', kind, 1000 * k + i);
        }
        return out;
      }),
    },
  }));
}

export interface StandardReport extends Pick<JobOutcome['report'], 'rows' | 'reliability' | 'robustness' | 'curves'> {
  /** validation log-loss by row name; `base` = the version the job started from */
  losses: Record<string, number>;
}

async function robustnessOf(
  ctx: JobContext,
  validation: Dataset,
  rows: readonly ReportRow[],
  models: readonly (readonly [string, EnsembleManifest])[],
): Promise<RobustnessRow[]> {
  const base = ctx.manifest;
  const perturbed = perturbedDatasets(base, validation);
  if (perturbed.length === 0) return [];
  const { rows: idx, labels } = labeled(validation);
  const m0 = base.members[0];
  const single: (readonly [string, EnsembleManifest])[] = m0
    ? [[m0.id, { ...base, members: [m0], fusion: { strategy: 'soft', temperature: 1, quorum: 1 } }]]
    : [];
  const out: RobustnessRow[] = [];
  for (const [name, manifest] of [...models, ...single]) {
    const clean = rows.find((r) => r.name === name || r.name.startsWith(name))?.accuracy ?? Number.NaN;
    const rob: RobustnessRow = { name, clean, perturbed: {} };
    for (const p of perturbed) {
      const probs = selectRows(await ctx.evaluator.ensemble(manifest, p.dataset), idx);
      rob.perturbed[p.kind] = classificationMetrics(probs, labels).accuracy;
    }
    out.push(rob);
  }
  return out;
}

/**
 * The standard report body: every member of the base version, the base ensemble and the
 * candidate(s) on the labeled validation rows, reliability curves, and robustness under
 * perturbations for the base ensemble, the candidates and the first member alone.
 */
export async function standardReport(
  ctx: JobContext,
  validation: Dataset,
  candidates: { name: string; manifest: EnsembleManifest }[],
): Promise<StandardReport> {
  const { rows: idx, labels } = labeled(validation);
  const base = ctx.manifest;
  const baseName = `ensemble v${base.version}`;
  const members = await ctx.evaluator.members(base, validation);
  const rows: ReportRow[] = base.members.map((m, i) =>
    reportRow(m.id, 'member', selectRows(members[i] as ProbMatrix, idx), labels, m.model.bytes, m.costUnits),
  );
  const baseProbs = selectRows(await ctx.evaluator.ensemble(base, validation), idx);
  const baseRow = reportRow(
    `${baseName} (${base.fusion.strategy})`,
    'ensemble',
    baseProbs,
    labels,
    bytesOf(base),
    costOf(base),
  );
  rows.push(baseRow);
  const curves = [reliability(baseName, baseProbs, labels)];
  const operating = [operatingCurveOf(baseName, base, baseProbs, labels)];
  const losses: Record<string, number> = { base: baseRow.logLoss };
  for (const c of candidates) {
    const probs = selectRows(await ctx.evaluator.ensemble(c.manifest, validation), idx);
    const row = reportRow(c.name, 'candidate', probs, labels, bytesOf(c.manifest), costOf(c.manifest));
    rows.push(row);
    losses[c.name] = row.logLoss;
    curves.push(reliability(c.name, probs, labels));
    operating.push(operatingCurveOf(c.name, c.manifest, probs, labels));
  }
  await ctx.progress('robustness under perturbations', 0.9);
  const robustness = await robustnessOf(ctx, validation, rows, [
    [baseName, base],
    ...candidates.map((c) => [c.name, c.manifest] as const),
  ]);
  return { rows, reliability: curves, robustness, curves: operating.filter((o) => o !== null), losses };
}

/** The charts' data of a standard report, as a job's outcome carries it. */
export function chartsOf(report: StandardReport): Omit<JobOutcome['report'], 'notes'> {
  const { rows, reliability: r, robustness, curves } = report;
  return { rows, reliability: r, robustness, ...(curves ? { curves } : {}) };
}

/** The rule of a job's log-loss gate (LogLossGate): a gain when one is asked for, else an allowed increase. */
export const logLossRule = (gate: LogLossGate): { maxIncrease: number } | { minGain: number } =>
  gate.minLogLossGain !== undefined ? { minGain: gate.minLogLossGain } : { maxIncrease: gate.maxLogLossIncrease ?? 0 };

/** Outcome of a job judged on validation log-loss against the version it started from. */
export function logLossOutcome(
  candidate: EnsembleManifest,
  report: StandardReport,
  name: string,
  notes: string[],
  rule: { maxIncrease: number } | { minGain: number },
): JobOutcome {
  const base = report.losses.base as number;
  const cand = report.losses[name] as number;
  const head = `validation log-loss ${cand.toFixed(4)} vs current ${base.toFixed(4)}`;
  const gate =
    'maxIncrease' in rule
      ? { passed: cand <= base + rule.maxIncrease, detail: `${head} (allowed increase ${rule.maxIncrease})` }
      : {
          passed: base - cand >= rule.minGain,
          detail: `${head}; gain ${(base - cand).toFixed(4)} (required ≥ ${rule.minGain})`,
        };
  return {
    candidate,
    gate,
    report: { ...chartsOf(report), notes },
  };
}
