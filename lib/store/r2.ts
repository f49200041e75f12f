import type { BlobHead, BlobStore } from './blob-store';

/** The part of Workers' R2Bucket this store uses (structural, so lib/ needs no Workers types). */
export interface R2BucketLike {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  head(key: string): Promise<{ size: number } | null>;
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView | string,
    options?: { httpMetadata?: { contentType?: string } },
  ): Promise<unknown>;
  list(options: {
    prefix?: string;
    cursor?: string;
  }): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
  delete(key: string): Promise<void>;
}

export class R2BlobStore implements BlobStore {
  constructor(private readonly bucket: R2BucketLike) {}

  async get(key: string): Promise<Uint8Array | null> {
    const obj = await this.bucket.get(key);
    return obj === null ? null : new Uint8Array(await obj.arrayBuffer());
  }

  async head(key: string): Promise<BlobHead | null> {
    const obj = await this.bucket.head(key);
    return obj === null ? null : { size: obj.size };
  }

  async put(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void> {
    await this.bucket.put(
      key,
      body,
      options?.contentType ? { httpMetadata: { contentType: options.contentType } } : {},
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list(cursor ? { prefix, cursor } : { prefix });
      for (const o of page.objects) keys.push(o.key);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys.sort();
  }

  delete(key: string): Promise<void> {
    return this.bucket.delete(key);
  }
}
