import { fusionPlan, predictEnsemble, type SessionSource } from '../../ensemble';
import { ChorusError } from '../../errors';
import { fuseMatrices, type ProbMatrix } from '../../fusion';
import type { EnsembleManifest, MemberSpec, PredictInput } from '../../schema';
import { type BlobStore, getJson, putJson, scoreCacheKey } from '../../store';

/** Rows to evaluate on; `hash` names their content (the score cache's key). */
export interface EvalDataset {
  readonly hash: string;
  readonly inputs: readonly PredictInput[];
}

/** Rows per engine call. */
const BATCH = 64;

interface CachedScores {
  n: number;
  c: number;
  data: number[];
  /** rows the member abstained on (its row then holds the prior) */
  abstained: number[];
}

function isCached(v: unknown, n: number, c: number): v is CachedScores {
  const s = v as Partial<CachedScores> | null;
  return (
    s !== null &&
    s.n === n &&
    s.c === c &&
    Array.isArray(s.data) &&
    s.data.length === n * c &&
    Array.isArray(s.abstained)
  );
}

const withAbstentions = (m: ProbMatrix, rows: readonly number[]): ProbMatrix => {
  if (rows.length === 0) return m;
  const abstained = new Uint8Array(m.n);
  for (const r of rows) abstained[r] = 1;
  return { ...m, abstained };
};

/**
 * Scores members and manifests over datasets through the serving engine itself
 * (`predictEnsemble`: the same featurizers, sessions and output handling as the edge), so
 * training, evaluation and serving cannot drift apart. With a cache store, each member's outputs
 * are kept per (model sha256, dataset hash) so repeated jobs do not score again.
 */
export class Evaluator {
  hits = 0;
  misses = 0;

  constructor(
    private readonly sessions: SessionSource,
    private readonly options: { cache?: BlobStore } = {},
  ) {}

  /** Each of `members` (default: the manifest's) over the dataset, n × classes, in the given order. */
  async members(
    manifest: EnsembleManifest,
    dataset: EvalDataset,
    members: readonly MemberSpec[] = manifest.members,
  ): Promise<ProbMatrix[]> {
    const n = dataset.inputs.length;
    const c = manifest.labels.length;
    const out = new Map<string, ProbMatrix>();
    const missing: MemberSpec[] = [];
    for (const m of members) {
      const cached = this.options.cache
        ? await getJson(this.options.cache, scoreCacheKey(m.model.sha256, dataset.hash))
        : null;
      if (isCached(cached, n, c)) {
        this.hits++;
        out.set(m.id, withAbstentions({ n, c, data: Float64Array.from(cached.data) }, cached.abstained));
      } else if (!missing.some((x) => x.id === m.id)) missing.push(m);
    }
    if (missing.length > 0) {
      this.misses += missing.length;
      const scored = await this.score(manifest, missing, dataset);
      for (const [k, m] of missing.entries()) {
        const probs = scored[k] as ProbMatrix;
        out.set(m.id, probs);
        if (this.options.cache)
          await putJson(this.options.cache, scoreCacheKey(m.model.sha256, dataset.hash), {
            n,
            c,
            data: Array.from(probs.data),
            abstained: probs.abstained ? [...probs.abstained.keys()].filter((i) => probs.abstained?.[i] === 1) : [],
          });
      }
    }
    return members.map((m) => out.get(m.id) as ProbMatrix);
  }

  member(manifest: EnsembleManifest, member: MemberSpec, dataset: EvalDataset): Promise<ProbMatrix> {
    return this.members(manifest, dataset, [member]).then((m) => m[0] as ProbMatrix);
  }

  /** The manifest's fused distribution over the dataset, as the edge would answer. */
  async ensemble(manifest: EnsembleManifest, dataset: EvalDataset): Promise<ProbMatrix> {
    return fuseWith(manifest, await this.members(manifest, dataset));
  }

  /**
   * Runs the members together (each input parsed and featurized once), every member required.
   * Where a member abstains its row holds the manifest's prior (uniform without one) and is
   * flagged in the matrix's `abstained`.
   */
  private async score(manifest: EnsembleManifest, members: MemberSpec[], dataset: EvalDataset): Promise<ProbMatrix[]> {
    const all: EnsembleManifest = {
      ...manifest,
      members,
      fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
    };
    const n = dataset.inputs.length;
    const c = manifest.labels.length;
    const prior = manifest.fusion.prior ?? manifest.labels.map(() => 1 / c);
    const data = members.map(() => new Float64Array(n * c));
    const abstained = members.map(() => [] as number[]);
    for (let start = 0; start < n; start += BATCH) {
      const batch = dataset.inputs.slice(start, start + BATCH);
      const res = await predictEnsemble(all, batch, this.sessions, { returnMembers: true });
      const failed = res.degraded[0];
      if (failed)
        throw new ChorusError('no_healthy_member', `member ${failed.member} failed: ${failed.reason}`, {
          details: { degraded: res.degraded },
        });
      res.predictions.forEach((p, i) => {
        members.forEach((m, k) => {
          const probs = p.members?.[m.id];
          if (probs === undefined) (abstained[k] as number[]).push(start + i);
          manifest.labels.forEach((label, j) => {
            (data[k] as Float64Array)[(start + i) * c + j] = probs ? (probs[label] as number) : (prior[j] as number);
          });
        });
      });
    }
    return data.map((d, k) => withAbstentions({ n, c, data: d }, abstained[k] as number[]));
  }
}

/** A manifest's fusion applied to its members' outputs (the engine's plan: weights by id, temperature). */
export function fuseWith(manifest: EnsembleManifest, members: readonly ProbMatrix[]): ProbMatrix {
  const plan = fusionPlan(
    manifest,
    manifest.fusion.strategy,
    manifest.members.map((m) => m.id),
  );
  return fuseMatrices(plan.strategy, members, plan.options);
}

/** Positions of the rows that carry a label (≥ 0), and their labels. */
export function labelledRows(labels: ArrayLike<number>): { rows: number[]; labels: number[] } {
  const rows: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (y >= 0) {
      rows.push(i);
      ys.push(y);
    }
  }
  return { rows, labels: ys };
}
