import type { MultipartUpload } from './multipart';

/** What the batch path needs of an object beyond BlobStore: its version, byte ranges and streams. */
export interface ObjectVersion {
  size: number;
  /** unquoted, as R2 notifications spell it */
  eTag: string;
}

/**
 * Incoming and result objects as batch processing sees them. R2 (binding) and S3 endpoints
 * implement it at the edge; a range read names the version it expects, so a part never mixes
 * bytes of two uploads under one key.
 */
export interface BatchObjects {
  stat(key: string): Promise<ObjectVersion | null>;
  /** bytes [start, end) of version `eTag`; null when the key is gone or holds another version */
  readRange(key: string, eTag: string, start: number, end: number): Promise<Uint8Array | null>;
  readStream(key: string): Promise<ReadableStream<Uint8Array> | null>;
  /** stores a body of `length` bytes without holding it in memory */
  writeStream(
    key: string,
    body: ReadableStream<Uint8Array>,
    length: number,
    contentType: string,
  ): Promise<ObjectVersion>;
  /** begins a multipart upload to `key` (for final files too large for one streamed put) */
  createMultipart(key: string, contentType: string): Promise<MultipartUpload>;
}
