import { fusionPlan, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { fuseMatrices, type ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest, MemberSpec } from '../../lib/schema';
import { type BlobStore, getJson, putJson } from '../../lib/store';
import type { Dataset } from './datasets';
import { createNodeBackend, nodeExecutionProvider } from './onnx-node';

const BATCH = 64;

/**
 * Scores members over datasets with onnxruntime-node through the serving engine itself (same
 * featurizers, same sessions), caching each member's outputs per (model sha256, dataset hash) in
 * the bucket so repeated jobs don't re-score.
 */
export class Scorer {
  readonly sessions: SessionCache;
  readonly executionProvider: string;
  hits = 0;
  misses = 0;

  constructor(private readonly store: BlobStore) {
    const backend = createNodeBackend({ cuda: process.env.CHORUS_CUDA === '1' });
    this.sessions = new SessionCache(backend, store, 512 << 20);
    this.executionProvider = nodeExecutionProvider(backend);
  }

  private cacheKey(member: MemberSpec, dataset: Dataset): string {
    return `cache/scores/${member.model.sha256}/${dataset.hash}.json`;
  }

  async member(manifest: EnsembleManifest, member: MemberSpec, dataset: Dataset): Promise<ProbMatrix> {
    const key = this.cacheKey(member, dataset);
    const cached = (await getJson(this.store, key)) as { n: number; c: number; data: number[] } | null;
    if (cached && cached.n === dataset.inputs.length) {
      this.hits++;
      return { n: cached.n, c: cached.c, data: Float64Array.from(cached.data) };
    }
    this.misses++;
    const single: EnsembleManifest = {
      ...manifest,
      members: [member],
      fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
    };
    const c = manifest.labels.length;
    const data = new Float64Array(dataset.inputs.length * c);
    for (let start = 0; start < dataset.inputs.length; start += BATCH) {
      const batch = dataset.inputs.slice(start, start + BATCH);
      const res = await predictEnsemble(single, batch, this.sessions, { returnMembers: true });
      if (res.degraded.length > 0) throw new Error(`member ${member.id} failed: ${res.degraded[0]?.reason}`);
      res.predictions.forEach((p, i) => {
        const probs = p.members?.[member.id] ?? {};
        manifest.labels.forEach((l, k) => {
          data[(start + i) * c + k] = probs[l] as number;
        });
      });
    }
    await putJson(this.store, key, { n: dataset.inputs.length, c, data: Array.from(data) });
    return { n: dataset.inputs.length, c, data };
  }

  async members(manifest: EnsembleManifest, dataset: Dataset): Promise<ProbMatrix[]> {
    const out: ProbMatrix[] = [];
    for (const m of manifest.members) out.push(await this.member(manifest, m, dataset));
    return out;
  }

  /** The manifest's fused distribution over the dataset, as the edge would answer. */
  async ensemble(manifest: EnsembleManifest, dataset: Dataset): Promise<ProbMatrix> {
    const members = await this.members(manifest, dataset);
    return fuseWith(manifest, members);
  }
}

export function fuseWith(manifest: EnsembleManifest, members: readonly ProbMatrix[]): ProbMatrix {
  const plan = fusionPlan(
    manifest,
    manifest.fusion.strategy,
    manifest.members.map((m) => m.id),
  );
  return fuseMatrices(plan.strategy, members, plan.options);
}
