/** Large final files: written as a multipart upload, byte-identical to one put, never half-written. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { assembleBatch } from '../../functions/edge/batch/assemble';
import { batchObjectsFromEnv } from '../../functions/edge/batch/objects';
import { storeFromEnv } from '../../functions/edge/env';
import { type BatchObjects, MULTIPART_MIN_PART_BYTES, type MultipartUpload, toJsonl } from '../../lib/batch';
import { batchKeys } from '../../lib/store';

const PARTS = 3;
const ROWS = 1_300;
/** ≈ 2.6 MB of results per part: ≈ 7.8 MB in all, two 5 MiB multipart parts (R2's minimum) */
const pad = 'x'.repeat(1_900);

/** Part outputs as the part step stores them (part-local line numbers), written straight to the bucket. */
async function seedParts(id: string): Promise<{ part: number; lines: number }[]> {
  const keys = batchKeys(id);
  const parts = [];
  for (let part = 0; part < PARTS; part++) {
    const rows = Array.from({ length: ROWS }, (_, k) => ({
      line: k + 1,
      id: `p${part}-${k}`,
      label: k % 2 ? 'spam' : 'ham',
      probabilities: { ham: 0.25, spam: 0.75 },
      note: pad,
    }));
    const errors = [{ line: ROWS + 1, raw: '{', rawTruncated: false, code: 'invalid_json', message: 'bad' }];
    await env.BUCKET.put(keys.partResults(part), toJsonl(rows));
    await env.BUCKET.put(keys.partErrors(part), toJsonl(errors));
    parts.push({ part, lines: ROWS + 1 });
  }
  return parts;
}

/** The real batch objects, counting the multipart calls that reach them; `failPart` throws before that part. */
function watched(failPart?: number) {
  const real = batchObjectsFromEnv(env);
  const seen = { uploads: 0, parts: [] as number[], aborted: 0 };
  const objects: BatchObjects = {
    stat: (k) => real.stat(k),
    readRange: (k, e, s, t) => real.readRange(k, e, s, t),
    readStream: (k) => real.readStream(k),
    writeStream: (k, b, l, c) => real.writeStream(k, b, l, c),
    async createMultipart(key, contentType): Promise<MultipartUpload> {
      const upload = await real.createMultipart(key, contentType);
      seen.uploads++;
      return {
        async uploadPart(n, body) {
          if (n === failPart) throw new Error(`injected failure before part ${n}`);
          seen.parts.push(body.length);
          return upload.uploadPart(n, body);
        },
        complete: (parts) => upload.complete(parts),
        async abort() {
          await upload.abort();
          seen.aborted++;
        },
      };
    },
  };
  return { objects, seen };
}

/** A stored file's length and SHA-256 (comparing megabytes element by element is slow). */
async function bytesOf(key: string): Promise<{ length: number; sha256: string }> {
  const body = (await (await env.BUCKET.get(key))?.arrayBuffer()) ?? new ArrayBuffer(0);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  return { length: body.byteLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
}
const MULTIPART = { spillBytes: 1, multipartBytes: 1 << 20, partBytes: MULTIPART_MIN_PART_BYTES };

describe('multipart assembly of large final files', () => {
  it('a results file past the threshold goes up in fixed-size parts, byte-identical to the single put', async () => {
    const id = 'mp-same';
    const parts = await seedParts(id);
    const store = storeFromEnv(env);
    const one = watched();
    await assembleBatch(store, one.objects, id, parts, { spillBytes: 1, multipartBytes: Number.MAX_SAFE_INTEGER });
    expect(one.seen.uploads).toBe(0);
    const single = await bytesOf(batchKeys(id).results);
    expect(single.length).toBeGreaterThan(MULTIPART_MIN_PART_BYTES);
    await env.BUCKET.delete([batchKeys(id).results, batchKeys(id).errors]);

    const multi = watched();
    const counts = await assembleBatch(store, multi.objects, id, parts, MULTIPART);
    expect(counts).toEqual({ lines: PARTS * (ROWS + 1), ok: PARTS * ROWS, errors: PARTS });
    // results only: the errors file is under the threshold and keeps the single put
    expect(multi.seen.uploads).toBe(1);
    expect(multi.seen.parts).toEqual([MULTIPART_MIN_PART_BYTES, single.length - MULTIPART_MIN_PART_BYTES]);
    expect(await bytesOf(batchKeys(id).results)).toEqual(single);
    expect((await env.BUCKET.head(batchKeys(id).results))?.httpMetadata?.contentType).toBe('application/x-ndjson');
  });

  it('a failure between parts aborts the upload and leaves no final file; the retry completes it', async () => {
    const id = 'mp-fail';
    const parts = await seedParts(id);
    const store = storeFromEnv(env);
    const failing = watched(2);
    await expect(assembleBatch(store, failing.objects, id, parts, MULTIPART)).rejects.toThrow(/injected failure/);
    expect(failing.seen).toEqual({ uploads: 1, parts: [MULTIPART_MIN_PART_BYTES], aborted: 1 });
    expect(await env.BUCKET.head(batchKeys(id).results)).toBeNull();

    const retry = watched();
    await assembleBatch(store, retry.objects, id, parts, MULTIPART);
    expect(retry.seen.uploads).toBe(1);
    const assembled = await bytesOf(batchKeys(id).results);
    await assembleBatch(store, retry.objects, id, parts, { spillBytes: 1, multipartBytes: Number.MAX_SAFE_INTEGER });
    expect(await bytesOf(batchKeys(id).results)).toEqual(assembled);
  });
});
