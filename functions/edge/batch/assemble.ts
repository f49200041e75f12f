import { BatchAssembler } from '../../../lib/batch';
import { type BlobStore, batchKeys, getText } from '../../../lib/store';

/**
 * Writes a batch's final files from its parts' outputs, in part order. Sequential
 * concatenation: parts are read one at a time and each final file is written with one put, so a
 * batch's results and errors must fit the isolate's memory (tens of MB); larger batches need a
 * multipart upload here. Idempotent: the same parts give the same bytes.
 */
export async function assembleBatch(
  store: BlobStore,
  id: string,
  parts: readonly { part: number; lines: number }[],
): Promise<{ lines: number; ok: number; errors: number }> {
  const keys = batchKeys(id);
  const assembler = new BatchAssembler();
  const results: string[] = [];
  const errors: string[] = [];
  for (const { part, lines } of parts) {
    const [r, e] = await Promise.all([getText(store, keys.partResults(part)), getText(store, keys.partErrors(part))]);
    if (r === null || e === null) throw new Error(`part ${part} of batch ${id} has no stored output`);
    const out = assembler.add({ lines, results: r, errors: e });
    results.push(out.results);
    errors.push(out.errors);
  }
  const jsonl = { contentType: 'application/x-ndjson' };
  await store.put(keys.results, results.join(''), jsonl);
  await store.put(keys.errors, errors.join(''), jsonl);
  return { lines: assembler.lines, ok: assembler.ok, errors: assembler.errors };
}
