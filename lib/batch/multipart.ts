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

/**
 * The part sizes for `total` bytes: every part `partBytes` but the last, which holds the rest.
 * R2 also wants all but the last part the same size, so the plan never varies them.
 */
export function multipartPlan(total: number, partBytes: number): number[] {
  if (partBytes < MULTIPART_MIN_PART_BYTES)
    throw new Error(`a part must be at least ${MULTIPART_MIN_PART_BYTES} bytes`);
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

/**
 * Streams `length` bytes of `body` into `upload` in the parts of multipartPlan and completes it;
 * on any failure the upload is aborted (so a retry starts clean) and the error rethrown.
 */
export async function uploadInParts(
  upload: MultipartUpload,
  body: ReadableStream<Uint8Array>,
  length: number,
  partBytes: number,
): Promise<ObjectVersion> {
  try {
    const parts: UploadedPart[] = [];
    for await (const chunk of chunked(body, multipartPlan(length, partBytes))) {
      parts.push(await upload.uploadPart(parts.length + 1, chunk));
    }
    return await upload.complete(parts);
  } catch (err) {
    await body.cancel().catch(() => undefined);
    // a failed abort must not hide why the upload failed (R2 drops an unfinished upload after 7 days)
    await upload.abort().catch(() => undefined);
    throw err;
  }
}
