import type { BlobHead, BlobStore } from './blob-store';

/** An in-process BlobStore (job harnesses, experiments); same contract as R2 and S3. */
export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | null> {
    const v = this.objects.get(key);
    return v ? v.slice() : null;
  }

  async head(key: string): Promise<BlobHead | null> {
    const v = this.objects.get(key);
    return v ? { size: v.length } : null;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? new TextEncoder().encode(body) : body.slice());
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
