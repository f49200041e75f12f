import { ChorusError } from '../../lib/errors';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { type BlobStore, ENSEMBLES_PREFIX, ensembleOfPointer, getJson, versionKey } from '../../lib/store';
import type { EnsembleRegistry, RegistryResult } from './registry';

/**
 * The edge's view of the ensemble registry. Reads resolve a name to its current manifest: which
 * version is current is asked of the registry at most once per `ttlMs` per isolate (so a publish
 * is served without redeploy within the TTL); version objects are immutable and cached for the
 * isolate's life. Writes go through `publish` and `rollback`, which forget the cached pointer
 * themselves so this isolate serves its own change at once.
 */
export class ManifestResolver {
  private readonly currentCache = new Map<string, { version: number; expires: number }>();
  private readonly versions = new Map<string, EnsembleManifest>();

  constructor(
    private readonly registry: DurableObjectNamespace<EnsembleRegistry>,
    private readonly store: BlobStore,
    private readonly ttlMs: number,
  ) {}

  private registryOf(name: string): DurableObjectStub<EnsembleRegistry> {
    return this.registry.get(this.registry.idFromName(name));
  }

  async currentVersion(name: string): Promise<number> {
    const now = Date.now();
    const hit = this.currentCache.get(name);
    if (hit && hit.expires > now) return hit.version;
    const version = await this.registryOf(name).current();
    this.currentCache.set(name, { version, expires: now + this.ttlMs });
    return version;
  }

  /** The highest version ever published (publishes continue after it, even after a rollback). */
  async latestVersion(name: string): Promise<number> {
    return (await this.registryOf(name).versions()).latest;
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

  /** Every ensemble with a pointer, and its current version. */
  async list(): Promise<{ name: string; version: number }[]> {
    const ensembles = [];
    for (const key of await this.store.list(ENSEMBLES_PREFIX)) {
      const name = ensembleOfPointer(key);
      if (name === null) continue;
      const version = await this.currentVersion(name);
      if (version > 0) ensembles.push({ name, version });
    }
    return ensembles;
  }

  publish(manifest: EnsembleManifest): Promise<RegistryResult> {
    return this.forgettingCurrent(manifest.name, () => this.registryOf(manifest.name).publish(manifest));
  }

  rollback(name: string, version: number): Promise<RegistryResult> {
    return this.forgettingCurrent(name, () => this.registryOf(name).rollback(name, version));
  }

  /** Forgets the pointer whatever the outcome: a refused write also means it may have moved. */
  private async forgettingCurrent(name: string, write: () => Promise<RegistryResult>): Promise<RegistryResult> {
    try {
      return await write();
    } finally {
      this.currentCache.delete(name);
    }
  }
}
