/** Writes the SpamAssassin split as JSONL datasets into the bucket (the zoo's fixed split). */
import type { BlobStore } from '../lib/store';
import { type CorpusMessage, LABELS, loadCorpus } from '../models/corpus';

const line = (m: CorpusMessage, withLabel = true) =>
  JSON.stringify({ id: m.id, input: { message: m.raw }, ...(withLabel ? { label: LABELS[m.label] } : {}) });

/**
 * datasets/spam/{train,validation,test}.jsonl; with `limit`, the first `limit` messages of each
 * split, spread evenly across it (small subsets for tests).
 */
export async function seedSpamDatasets(
  store: BlobStore,
  options: { limit?: number; prefix?: string } = {},
): Promise<Record<string, string>> {
  const corpus = await loadCorpus();
  const prefix = options.prefix ?? 'datasets/spam';
  const keys: Record<string, string> = {};
  for (const split of ['train', 'validation', 'test'] as const) {
    let rows = corpus.filter((m) => m.split === split);
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
