import type { ObjectVersion } from './objects';

/** S3 and R2 refuse a part under 5 MiB unless it is the last one. */
export const MULTIPART_MIN_PART_BYTES = 5 << 20;

/** One stored part, as CompleteMultipartUpload names it. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/**
 * A multipart upload begun on one key: nothing appears under the key until `complete`, so a
 * failure between parts leaves no half-written object, and `abort` drops the stored parts.
 */
export interface MultipartUpload {
  uploadPart(partNumber: number, body: Uint8Array): Promise<UploadedPart>;
  complete(parts: readonly UploadedPart[]): Promise<ObjectVersion>;
  abort(): Promise<void>;
}

function checkPartBytes(partBytes: number): void {
  if (partBytes < MULTIPART_MIN_PART_BYTES)
    throw new Error(`a part must be at least ${MULTIPART_MIN_PART_BYTES} bytes`);
}

/**
 * The part sizes for `total` bytes: every part `partBytes` but the last, which holds the rest.
 * R2 also wants all but the last part the same size, so the plan never varies them.
 */
export function multipartPlan(total: number, partBytes: number): number[] {
  checkPartBytes(partBytes);
  const sizes: number[] = [];
  for (let left = total; left > 0; left -= partBytes) sizes.push(Math.min(left, partBytes));
  return sizes.length ? sizes : [0];
}

/** `body` cut into the chunks of `sizes`, one chunk held at a time. */
async function* chunked(body: ReadableStream<Uint8Array>, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let carry: Uint8Array = new Uint8Array();
  try {
    for (const size of sizes) {
      const chunk = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        if (!carry.length) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the body ended ${size - at} bytes short of a part`);
          carry = value;
        }
        const take = Math.min(carry.length, size - at);
        chunk.set(carry.subarray(0, take), at);
        carry = carry.subarray(take);
        at += take;
      }
      yield chunk;
    }
    if (carry.length || !(await reader.read()).done) throw new Error('the body is longer than its stated length');
  } finally {
    reader.releaseLock();
  }
}

/** `body` cut into parts of `partBytes` until it ends (the last part holds the rest; one empty part for an empty body). */
async function* chunkedToEnd(body: ReadableStream<Uint8Array>, partBytes: number): AsyncGenerator<Uint8Array> {
  checkPartBytes(partBytes);
  const reader = body.getReader();
  let chunk = new Uint8Array(partBytes);
  let at = 0;
  let parts = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let from = 0; from < value.length; ) {
        const take = Math.min(value.length - from, partBytes - at);
        chunk.set(value.subarray(from, from + take), at);
        at += take;
        from += take;
        if (at === partBytes) {
          yield chunk;
          parts++;
          chunk = new Uint8Array(partBytes);
          at = 0;
        }
      }
    }
    if (at > 0 || parts === 0) yield chunk.subarray(0, at);
  } finally {
    reader.releaseLock();
  }
}

/**
 * Streams `body` into `upload` in parts and completes it: `length` bytes in the parts of
 * multipartPlan, or, without a length (a chunked request), parts of `partBytes` until the body
 * ends, one part held at a time. On any failure the upload is aborted (so a retry starts clean)
 * and the error rethrown.
 */
export async function uploadInParts(
  upload: MultipartUpload,
  body: ReadableStream<Uint8Array>,
  length: number | undefined,
  partBytes: number,
): Promise<ObjectVersion> {
  try {
    const chunks =
      length === undefined ? chunkedToEnd(body, partBytes) : chunked(body, multipartPlan(length, partBytes));
    const parts: UploadedPart[] = [];
    for await (const chunk of chunks) parts.push(await upload.uploadPart(parts.length + 1, chunk));
    return await upload.complete(parts);
  } catch (err) {
    await body.cancel().catch(() => undefined);
    // a failed abort must not hide why the upload failed (R2 drops an unfinished upload after 7 days)
    await upload.abort().catch(() => undefined);
    throw err;
  }
}
