/** Writes the SpamAssassin corpus as JSONL job datasets into the bucket. */
import { murmur3String } from '../lib/features';
import type { BlobStore } from '../lib/store';
import { type CorpusMessage, LABELS, loadCorpus } from '../models/corpus';

const line = (m: CorpusMessage, withLabel = true) =>
  JSON.stringify({ id: m.id, input: { message: m.raw }, ...(withLabel ? { label: LABELS[m.label] } : {}) });

export type JobSplit = 'train' | 'validation' | 'test';

/**
 * The job dataset a message belongs to. The zoo's members are fitted on its train and validation
 * splits, so a job that measures them (fit-weights, stack, compress, distill) must read neither:
 * job train is the zoo's fit rows, job validation and test are the two halves of the zoo's test
 * split, by murmur3(near-duplicate key, seed 0x7e57) mod 2 (a campaign stays in one half).
 */
export function jobSplitOf(m: Pick<CorpusMessage, 'split' | 'dupKey'>): JobSplit {
  if (m.split !== 'test') return 'train';
  return murmur3String(m.dupKey, 0x7e57) % 2 === 0 ? 'validation' : 'test';
}

/**
 * datasets/spam/{train,validation,test}.jsonl (jobSplitOf); with `limit`, the first `limit`
 * messages of each, spread evenly across it (small subsets for tests).
 */
export async function seedSpamDatasets(
  store: BlobStore,
  options: { limit?: number; prefix?: string } = {},
): Promise<Record<JobSplit, string>> {
  const corpus = await loadCorpus();
  const prefix = options.prefix ?? 'datasets/spam';
  const keys = {} as Record<JobSplit, string>;
  for (const split of ['train', 'validation', 'test'] as const) {
    let rows = corpus.filter((m) => jobSplitOf(m) === split);
    const limit = options.limit;
    if (limit) {
      const stride = Math.max(1, Math.floor(rows.length / limit));
      rows = rows.filter((_, i) => i % stride === 0).slice(0, limit);
    }
    const key = `${prefix}/${split}.jsonl`;
    await store.put(key, `${rows.map((m) => line(m)).join('\n')}\n`, { contentType: 'application/x-ndjson' });
    keys[split] = key;
  }
  return keys;
}
