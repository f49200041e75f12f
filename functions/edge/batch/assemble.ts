import { BatchAssembler, type BatchObjects, MULTIPART_MIN_PART_BYTES, uploadInParts } from '../../../lib/batch';
import { type BlobStore, batchKeys, getText } from '../../../lib/store';

const JSONL = 'application/x-ndjson';

/** Where a part's share of the final files is kept between the two passes (next to its output). */
const finalKeyOf = (partKey: string): string => partKey.replace(/\.jsonl$/, '.final.jsonl');

/** The objects at `keys`, one after another, as one stream (each opened when the previous ends). */
function concatenated(objects: BatchObjects, keys: readonly string[]): ReadableStream<Uint8Array> {
  let next = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>(
    {
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
    },
    // read only on demand: no read is left pending when a failed upload cancels the stream
    { highWaterMark: 0 },
  );
}

/**
 * Output held in memory before assembly spills to storage: a batch whose final files fit is
 * written with one put per file, as before; a larger one never holds more than this plus a part.
 */
export const SPILL_BYTES = 8 << 20;

/** How a batch's final files are written; tests lower the thresholds instead of writing 100 MB. */
export interface AssemblyLimits {
  /** output held in memory before shares go to storage */
  spillBytes: number;
  /** a spilled file larger than this is written as a multipart upload, not one streamed put */
  multipartBytes: number;
  /** each multipart part but the last (at least MULTIPART_MIN_PART_BYTES) */
  partBytes: number;
}

export const ASSEMBLY_LIMITS: AssemblyLimits = {
  spillBytes: SPILL_BYTES,
  multipartBytes: SPILL_BYTES,
  partBytes: 8 << 20,
};

/** One final file being assembled: its shares in memory until they outgrow SPILL_BYTES, then in storage. */
class FinalFile {
  private held: { key: string; body: Uint8Array }[] = [];
  private heldBytes = 0;
  private spilled = false;
  private readonly keys: string[] = [];
  bytes = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly objects: BatchObjects,
    private readonly limits: AssemblyLimits,
  ) {}

  async add(shareKey: string, body: Uint8Array): Promise<void> {
    this.keys.push(shareKey);
    this.bytes += body.length;
    if (this.spilled) return this.store.put(shareKey, body, { contentType: JSONL });
    this.held.push({ key: shareKey, body });
    this.heldBytes += body.length;
    if (this.heldBytes <= this.limits.spillBytes) return;
    this.spilled = true;
    for (const h of this.held) await this.store.put(h.key, h.body, { contentType: JSONL });
    this.held = [];
  }

  async write(key: string): Promise<void> {
    if (!this.spilled) {
      const body = new Uint8Array(this.heldBytes);
      let at = 0;
      for (const h of this.held) {
        body.set(h.body, at);
        at += h.body.length;
      }
      return this.store.put(key, body, { contentType: JSONL });
    }
    const body = concatenated(this.objects, this.keys);
    if (this.bytes <= this.limits.multipartBytes) {
      await this.objects.writeStream(key, body, this.bytes, JSONL);
      return;
    }
    const upload = await this.objects.createMultipart(key, JSONL);
    await uploadInParts(upload, body, this.bytes, Math.max(this.limits.partBytes, MULTIPART_MIN_PART_BYTES));
  }
}

/**
 * Writes a batch's final files from its parts' outputs, in part order, in bounded memory: each
 * part's output, read one part at a time, becomes its share of the final files (line numbers
 * file-wide). Shares stay in memory while they fit SPILL_BYTES and
 * the file is written with one put; past that they are stored beside the parts' outputs and the
 * final file is streamed into storage as their concatenation, its total length known up front:
 * one streamed put up to `multipartBytes`, a multipart upload of fixed-size parts beyond (aborted
 * on failure, so the final key is either absent or whole). Idempotent: the same parts give the
 * same bytes.
 */
export async function assembleBatch(
  store: BlobStore,
  objects: BatchObjects,
  id: string,
  parts: readonly { part: number; lines: number }[],
  limits: Partial<AssemblyLimits> = {},
): Promise<{ lines: number; ok: number; errors: number }> {
  const keys = batchKeys(id);
  const assembler = new BatchAssembler();
  const encoder = new TextEncoder();
  const all = { ...ASSEMBLY_LIMITS, ...limits };
  const files = { results: new FinalFile(store, objects, all), errors: new FinalFile(store, objects, all) };
  for (const { part, lines } of parts) {
    const [r, e] = await Promise.all([getText(store, keys.partResults(part)), getText(store, keys.partErrors(part))]);
    if (r === null || e === null) throw new Error(`part ${part} of batch ${id} has no stored output`);
    const out = assembler.add({ lines, results: r, errors: e });
    await files.results.add(finalKeyOf(keys.partResults(part)), encoder.encode(out.results));
    await files.errors.add(finalKeyOf(keys.partErrors(part)), encoder.encode(out.errors));
  }
  await files.results.write(keys.results);
  await files.errors.write(keys.errors);
  return { lines: assembler.lines, ok: assembler.ok, errors: assembler.errors };
}
