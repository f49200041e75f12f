import { ChorusError } from '../../lib/errors';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  isEnsembleName,
  type Publisher,
  type UnreferencedModel,
  type VersionList,
} from '../../lib/schema';
import { type BlobStore, ENSEMBLES_PREFIX, ensembleOfPointer, getJson, versionKey } from '../../lib/store';
import { ApiError } from './problem';
import type { ArchiveResult, EnsembleRegistry, RegistryResult } from './registry';

/** Pointers remembered per isolate at most (each a short name and two numbers). */
const MAX_POINTERS = 10_000;

/** Which version is current, and whether the ensemble is archived (then it is not served). */
export interface Pointer {
  version: number;
  archived: boolean;
}

/**
 * The edge's view of the ensemble registry. Reads resolve a name to its current manifest: which
 * version is current is asked of the registry at most once per `ttlMs` per isolate (so a publish
 * is served without redeploy within the TTL); version objects are immutable and cached for the
 * isolate's life. Writes go through `publish`, `rollback` and `setArchived`, which forget the
 * cached pointer themselves so this isolate serves its own change at once. An archived ensemble
 * reads as current version 0 to everything that serves (predict, batches, the default list).
 */
export class ManifestResolver {
  private readonly currentCache = new Map<string, Pointer & { expires: number }>();
  private readonly versions = new Map<string, EnsembleManifest>();

  constructor(
    private readonly registry: DurableObjectNamespace<EnsembleRegistry>,
    private readonly store: BlobStore,
    private readonly ttlMs: number,
  ) {}

  /** The name's registry object; a string no ensemble can have starts none (404). */
  private registryOf(name: string): DurableObjectStub<EnsembleRegistry> {
    if (!isEnsembleName(name)) throw new ChorusError('not_found', 'no ensemble has that name');
    return this.registry.get(this.registry.idFromName(name));
  }

  async pointer(name: string): Promise<Pointer> {
    const now = Date.now();
    const hit = this.currentCache.get(name);
    if (hit && hit.expires > now) return { version: hit.version, archived: hit.archived };
    const state = await this.registryOf(name).versions();
    const pointer = { version: state.current, archived: state.archived === true };
    // bounded: names are checked, but a caller can still ask for many that do not exist
    if (this.currentCache.size >= MAX_POINTERS) this.currentCache.clear();
    this.currentCache.set(name, { ...pointer, expires: now + this.ttlMs });
    return pointer;
  }

  /** The version served now; 0 when there is none or the ensemble is archived. */
  async currentVersion(name: string): Promise<number> {
    const { version, archived } = await this.pointer(name);
    return archived ? 0 : version;
  }

  /** The highest version ever published (publishes continue after it, even after a rollback). */
  async latestVersion(name: string): Promise<number> {
    return (await this.registryOf(name).versions()).latest;
  }

  /** A given version, or the one served now (an archived ensemble answers 404 `ensemble_archived`). */
  async manifest(name: string, version?: number): Promise<EnsembleManifest> {
    let v = version;
    if (v === undefined) {
      const pointer = await this.pointer(name);
      if (pointer.archived) throw new ApiError(404, 'ensemble_archived', `ensemble '${name}' is archived`);
      v = pointer.version;
    }
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

  /** Every ensemble with a pointer and its current version; archived ones only when `withArchived`. */
  async list(withArchived = false): Promise<{ name: string; version: number; archived: boolean }[]> {
    const ensembles = [];
    for (const key of await this.store.list(ENSEMBLES_PREFIX)) {
      const name = ensembleOfPointer(key);
      // an object written outside the API under a name no ensemble can have is not an ensemble
      if (name === null || !isEnsembleName(name)) continue;
      const { version, archived } = await this.pointer(name);
      if (version > 0 && (withArchived || !archived)) ensembles.push({ name, version, archived });
    }
    return ensembles;
  }

  /** Every published version with who published it, when, and from which job. */
  async versionList(name: string): Promise<VersionList> {
    const registry = this.registryOf(name);
    const [state, records] = await Promise.all([registry.versions(), registry.provenance()]);
    if (state.latest === 0) throw new ChorusError('not_found', `ensemble '${name}' does not exist`);
    const versions = [];
    for (let v = 1; v <= state.latest; v++) {
      // versions published before provenance was recorded: what their manifest says
      const record = records[v] ?? (await this.unrecorded(name, v));
      versions.push({ ...record, current: v === state.current });
    }
    return { name, current: state.current, archived: state.archived === true, versions };
  }

  private async unrecorded(name: string, version: number) {
    const m = await this.manifest(name, version);
    const publishedBy: Publisher = 'unknown';
    const jobId = m.provenance.jobId ?? null;
    return { version, publishedAt: m.provenance.createdAt, publishedBy, jobId, members: m.members.length };
  }

  /**
   * Stored models that no version of a live (non-archived) ensemble references, with the archived
   * ensembles that still do. Reads every version once per isolate (they are cached).
   */
  async unreferencedModels(): Promise<UnreferencedModel[]> {
    const live = new Set<string>();
    const archivedIn = new Map<string, Set<string>>();
    for (const { name, archived } of await this.list(true)) {
      const latest = await this.latestVersion(name);
      for (let v = 1; v <= latest; v++) {
        for (const member of (await this.manifest(name, v)).members) {
          const key = member.model.key;
          if (!archived) live.add(key);
          else archivedIn.set(key, (archivedIn.get(key) ?? new Set()).add(name));
        }
      }
    }
    const models: UnreferencedModel[] = [];
    for (const key of await this.store.list('models/')) {
      // content-addressed models only (lib/store modelKey); anything else under models/ is not ours
      const sha256 = /^models\/([0-9a-f]{64})\.onnx$/.exec(key)?.[1];
      if (sha256 === undefined || live.has(key)) continue;
      const bytes = (await this.store.head(key))?.size ?? 0;
      models.push({ key, sha256, bytes, archivedIn: [...(archivedIn.get(key) ?? [])].sort() });
    }
    return models;
  }

  publish(manifest: EnsembleManifest, publishedBy: Publisher): Promise<RegistryResult> {
    return this.forgettingCurrent<RegistryResult>(manifest.name, () =>
      this.registryOf(manifest.name).publish(manifest, publishedBy),
    );
  }

  setArchived(name: string, archived: boolean): Promise<ArchiveResult> {
    return this.forgettingCurrent<ArchiveResult>(name, () => this.registryOf(name).setArchived(name, archived));
  }

  rollback(name: string, version: number): Promise<RegistryResult> {
    return this.forgettingCurrent<RegistryResult>(name, () => this.registryOf(name).rollback(name, version));
  }

  /** Forgets the pointer whatever the outcome: a refused write also means it may have moved. */
  private async forgettingCurrent<R>(name: string, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } finally {
      this.currentCache.delete(name);
    }
  }
}
