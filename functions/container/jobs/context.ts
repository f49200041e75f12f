import { parseEmail } from '../../../lib/features';
import type { ProbMatrix } from '../../../lib/fusion';
import type { EnsembleManifest, JobSpec, MemberSpec, PredictInput } from '../../../lib/schema';
import { type BlobStore, modelKey, sha256Hex } from '../../../lib/store';
import { selectRows } from '../../../lib/train';
import { type Dataset, labeled } from '../datasets';
import { PERTURBATIONS, perturb } from '../perturb';
import { type JobReport, type ReportRow, type RobustnessRow, reliability, reportRow } from '../report';
import { fuseWith, type Scorer } from '../scoring';

export interface JobContext {
  id: string;
  spec: JobSpec;
  store: BlobStore;
  scorer: Scorer;
  /** the ensemble version the job started from */
  manifest: EnsembleManifest;
  progress(step: string, fraction: number): Promise<void>;
}

export interface JobOutcome {
  /** the new version to publish (version number assigned at publish); null = nothing to publish */
  candidate: EnsembleManifest | null;
  gate: { passed: boolean; detail: string };
  report: Omit<JobReport, 'id' | 'kind' | 'ensemble' | 'baseVersion' | 'executionProvider' | 'wallSeconds' | 'gate'>;
}

type StandardReport = Awaited<ReturnType<typeof standardReport>>;

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
    report: { rows: report.rows, reliability: report.reliability, robustness: report.robustness, notes },
  };
}

/** Stores a model content-addressed (immutable; an orphan from a failed job is harmless). */
export async function putModel(store: BlobStore, bytes: Uint8Array): Promise<MemberSpec['model']> {
  const sha256 = await sha256Hex(bytes);
  const key = modelKey(sha256);
  if (!(await store.head(key))) await store.put(key, bytes, { contentType: 'application/octet-stream' });
  return { key, sha256, bytes: bytes.length };
}

/** The text each row shows a member's featurizer (the e-mail view for rfc822 fields). */
export async function memberTexts(
  manifest: EnsembleManifest,
  member: MemberSpec,
  inputs: readonly PredictInput[],
): Promise<string[]> {
  const f = member.featurizer;
  if (f.kind !== 'hashed-ngrams') throw new Error(`member ${member.id} does not read text`);
  const field = manifest.input.fields[f.field];
  return Promise.all(
    inputs.map(async (input) => {
      const raw = (input[f.field] as string | undefined) ?? '';
      return field?.type === 'text' && field.format === 'rfc822' ? (await parseEmail(raw))[f.view ?? 'body'] : raw;
    }),
  );
}

export function bytesOf(manifest: EnsembleManifest): number {
  return manifest.members.reduce((s, m) => s + m.model.bytes, 0);
}

export function costOf(manifest: EnsembleManifest): number {
  return manifest.members.reduce((s, m) => s + m.costUnits, 0);
}

/** Seeded perturbed copies of a dataset's text fields (tensor ensembles: none). */
export function perturbedDatasets(manifest: EnsembleManifest, d: Dataset): { kind: string; dataset: Dataset }[] {
  const textFields = Object.entries(manifest.input.fields).filter(([, f]) => f.type === 'text');
  if (textFields.length === 0) return [];
  return PERTURBATIONS.map((kind, k) => ({
    kind,
    dataset: {
      key: `${d.key}#${kind}`,
      hash: `${d.hash}-${kind}-v1`,
      labels: d.labels,
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

/**
 * The standard report body: every member of the base version, the base ensemble and the
 * candidate(s) on the labeled validation rows, reliability curves, and robustness under
 * perturbations for the base ensemble and the candidate.
 */
export async function standardReport(
  ctx: JobContext,
  validation: Dataset,
  candidates: { name: string; manifest: EnsembleManifest; probs?: ProbMatrix }[],
): Promise<{
  rows: ReportRow[];
  reliability: JobReport['reliability'];
  robustness: RobustnessRow[];
  losses: Record<string, number>;
}> {
  const { rows: idx, labels } = labeled(validation);
  const base = ctx.manifest;
  const rows: ReportRow[] = [];
  const members = await ctx.scorer.members(base, validation);
  base.members.forEach((m, i) => {
    rows.push(reportRow(m.id, 'member', selectRows(members[i] as ProbMatrix, idx), labels, m.model.bytes, m.costUnits));
  });
  const baseProbs = selectRows(fuseWith(base, members), idx);
  rows.push(
    reportRow(
      `ensemble v${base.version} (${base.fusion.strategy})`,
      'ensemble',
      baseProbs,
      labels,
      bytesOf(base),
      costOf(base),
    ),
  );
  const curves = [reliability(`ensemble v${base.version}`, baseProbs, labels)];
  const losses: Record<string, number> = { base: rows[rows.length - 1]?.logLoss ?? Number.NaN };
  for (const c of candidates) {
    const probs = selectRows(c.probs ?? (await ctx.scorer.ensemble(c.manifest, validation)), idx);
    const row = reportRow(c.name, 'candidate', probs, labels, bytesOf(c.manifest), costOf(c.manifest));
    rows.push(row);
    losses[c.name] = row.logLoss;
    curves.push(reliability(c.name, probs, labels));
  }
  await ctx.progress('robustness under perturbations', 0.9);
  const robustness: RobustnessRow[] = [];
  const perturbed = perturbedDatasets(base, validation);
  if (perturbed.length > 0) {
    for (const [name, manifest] of [
      [`ensemble v${base.version}`, base] as const,
      ...candidates.map((c) => [c.name, c.manifest] as const),
    ]) {
      const clean = rows.find((r) => r.name === name || r.name.startsWith(name))?.accuracy ?? Number.NaN;
      const rob: RobustnessRow = { name, clean, perturbed: {} };
      for (const p of perturbed) {
        const probs = selectRows(await ctx.scorer.ensemble(manifest, p.dataset), idx);
        rob.perturbed[p.kind] = reportRow(name, 'candidate', probs, labels, 0, 0).accuracy;
      }
      robustness.push(rob);
    }
    const m0 = base.members[0];
    if (m0) {
      const single: EnsembleManifest = {
        ...base,
        members: [m0],
        fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
      };
      const rob: RobustnessRow = { name: m0.id, clean: rows[0]?.accuracy ?? Number.NaN, perturbed: {} };
      for (const p of perturbed) {
        rob.perturbed[p.kind] = reportRow(
          m0.id,
          'member',
          selectRows(await ctx.scorer.ensemble(single, p.dataset), idx),
          labels,
          0,
          0,
        ).accuracy;
      }
      robustness.push(rob);
    }
  }
  return { rows, reliability: curves, robustness, losses };
}
