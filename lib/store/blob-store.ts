/**
 * Object storage as the rest of Chorus sees it. R2 (binding) and S3-compatible endpoints
 * implement it; nothing above this interface knows which one it talks to.
 */
export interface BlobHead {
  size: number;
}

export interface BlobStore {
  get(key: string): Promise<Uint8Array | null>;
  head(key: string): Promise<BlobHead | null>;
  put(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void>;
  /** keys under a prefix, sorted */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export async function getText(store: BlobStore, key: string): Promise<string | null> {
  const bytes = await store.get(key);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

export async function getJson(store: BlobStore, key: string): Promise<unknown> {
  const text = await getText(store, key);
  return text === null ? null : (JSON.parse(text) as unknown);
}

export function putJson(store: BlobStore, key: string, value: unknown): Promise<void> {
  return store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json' });
}
