import { BatchAssembler, type BatchObjects } from '../../../lib/batch';
import { type BlobStore, batchKeys, getText } from '../../../lib/store';

const JSONL = 'application/x-ndjson';

/** Where a part's share of the final files is kept between the two passes (next to its output). */
const finalKeyOf = (partKey: string): string => partKey.replace(/\.jsonl$/, '.final.jsonl');

/** The objects at `keys`, one after another, as one stream (each opened when the previous ends). */
function concatenated(objects: BatchObjects, keys: readonly string[]): ReadableStream<Uint8Array> {
  let next = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!reader) {
          const key = keys[next++];
          if (key === undefined) return controller.close();
          const stream = await objects.readStream(key);
          if (!stream) throw new Error(`${key} is missing`);
          reader = stream.getReader();
        }
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        reader = null;
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}

/**
 * Writes a batch's final files from its parts' outputs, in part order, in bounded memory. First
 * pass: each part's output, read one part at a time, becomes its share of the final files (line
 * numbers file-wide, a repeated id moved to errors) stored next to it, with its length. Second
 * pass: each final file is streamed into storage as the concatenation of those shares, its total
 * length known up front. Only one part's output is in memory at a time, whatever the file's size.
 * Idempotent: the same parts give the same bytes.
 */
export async function assembleBatch(
  store: BlobStore,
  objects: BatchObjects,
  id: string,
  parts: readonly { part: number; lines: number }[],
): Promise<{ lines: number; ok: number; errors: number }> {
  const keys = batchKeys(id);
  const assembler = new BatchAssembler();
  const encoder = new TextEncoder();
  const shares = { results: [] as string[], errors: [] as string[] };
  const bytes = { results: 0, errors: 0 };
  for (const { part, lines } of parts) {
    const [r, e] = await Promise.all([getText(store, keys.partResults(part)), getText(store, keys.partErrors(part))]);
    if (r === null || e === null) throw new Error(`part ${part} of batch ${id} has no stored output`);
    const out = assembler.add({ lines, results: r, errors: e });
    for (const [which, text, partKey] of [
      ['results', out.results, keys.partResults(part)],
      ['errors', out.errors, keys.partErrors(part)],
    ] as const) {
      const body = encoder.encode(text);
      await store.put(finalKeyOf(partKey), body, { contentType: JSONL });
      shares[which].push(finalKeyOf(partKey));
      bytes[which] += body.length;
    }
  }
  for (const which of ['results', 'errors'] as const) {
    // an empty file has nothing to stream
    if (bytes[which] === 0) await store.put(keys[which], '', { contentType: JSONL });
    else await objects.writeStream(keys[which], concatenated(objects, shares[which]), bytes[which], JSONL);
  }
  return { lines: assembler.lines, ok: assembler.ok, errors: assembler.errors };
}
