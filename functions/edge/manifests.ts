import { ChorusError } from '../../lib/errors';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { type BlobStore, getJson, versionKey } from '../../lib/store';
import type { EnsembleRegistry } from './registry';

/**
 * Resolves an ensemble name to its current manifest. Which version is current is asked of the
 * registry at most once per `ttlMs` per isolate (so a publish is served without redeploy within
 * the TTL); version objects are immutable and cached for the isolate's life.
 */
export class ManifestResolver {
  private readonly currentCache = new Map<string, { version: number; expires: number }>();
  private readonly versions = new Map<string, EnsembleManifest>();

  constructor(
    private readonly registry: DurableObjectNamespace<EnsembleRegistry>,
    private readonly store: BlobStore,
    private readonly ttlMs: number,
  ) {}

  stub(name: string): DurableObjectStub<EnsembleRegistry> {
    return this.registry.get(this.registry.idFromName(name));
  }

  async currentVersion(name: string): Promise<number> {
    const now = Date.now();
    const hit = this.currentCache.get(name);
    if (hit && hit.expires > now) return hit.version;
    const version = await this.stub(name).current();
    this.currentCache.set(name, { version, expires: now + this.ttlMs });
    return version;
  }

  /** Forget the cached pointer (after this isolate published or rolled back). */
  invalidate(name: string): void {
    this.currentCache.delete(name);
  }

  async manifest(name: string, version?: number): Promise<EnsembleManifest> {
    const v = version ?? (await this.currentVersion(name));
    if (v === 0) throw new ChorusError('not_found', `ensemble '${name}' does not exist`);
    const key = `${name}@${v}`;
    const cached = this.versions.get(key);
    if (cached) return cached;
    const raw = await getJson(this.store, versionKey(name, v));
    if (raw === null) throw new ChorusError('not_found', `ensemble '${name}' has no version ${v}`);
    const manifest = EnsembleManifestSchema.parse(raw);
    this.versions.set(key, manifest);
    return manifest;
  }
}
