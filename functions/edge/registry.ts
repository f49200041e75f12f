import { DurableObject } from 'cloudflare:workers';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  type Publisher,
  type VersionProvenance,
  VersionProvenanceSchema,
} from '../../lib/schema';
import { type BlobStore, getJson, pointerKey, putJson, versionKey } from '../../lib/store';
import { type EdgeEnv, storeFromEnv } from './env';

export interface RegistryState {
  latest: number;
  current: number;
  /** archived: not served, not listed by default; versions and models are kept (restore serves it again) */
  archived?: boolean;
}

export type RegistryResult =
  | { ok: true; version: number; previous: number }
  | { ok: false; code: 'version_conflict' | 'unknown_version'; message: string };

export type ArchiveResult =
  | { ok: true; version: number; archived: boolean }
  | { ok: false; code: 'not_found' | 'already_archived' | 'not_archived'; message: string };

/** Provenance records live beside the state, one per version. */
const provenanceKey = (version: number) => `provenance:${String(version).padStart(10, '0')}`;

/**
 * The single writer of which manifest version is current, one instance per ensemble name.
 * Publishes and rollbacks run one at a time (blockConcurrencyWhile), so two publishers of the
 * same version cannot both win — correctness does not rest on conditional PUTs, which local S3
 * servers ignore. Version objects are immutable; the pointer object mirrors the state for
 * readers outside the edge (jobs). Each publish also records who published it, when, and the job
 * it came from; archive/restore flip a flag and touch no version or model.
 */
export class EnsembleRegistry extends DurableObject<EdgeEnv> {
  private readonly store: BlobStore;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.store = storeFromEnv(env);
  }

  private async state(): Promise<RegistryState> {
    return (await this.ctx.storage.get<RegistryState>('state')) ?? { latest: 0, current: 0 };
  }

  async current(): Promise<number> {
    return (await this.state()).current;
  }

  /** latest, current and whether archived, in one read. */
  async versions(): Promise<RegistryState> {
    return this.state();
  }

  /** Provenance recorded at publish, by version (versions published before it was kept are absent). */
  async provenance(): Promise<Record<number, VersionProvenance>> {
    const out: Record<number, VersionProvenance> = {};
    for (const value of (await this.ctx.storage.list({ prefix: 'provenance:' })).values()) {
      const record = VersionProvenanceSchema.safeParse(value);
      if (record.success) out[record.data.version] = record.data;
    }
    return out;
  }

  publish(manifest: EnsembleManifest, publishedBy: Publisher = 'unknown'): Promise<RegistryResult> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const state = await this.state();
      if (manifest.version !== state.latest + 1) {
        return {
          ok: false as const,
          code: 'version_conflict' as const,
          message: `version ${manifest.version} cannot be published: latest is ${state.latest}, the next must be ${state.latest + 1}`,
        };
      }
      // Artifacts first, then the state flip, so readers never see a version without its object.
      await putJson(this.store, versionKey(manifest.name, manifest.version), manifest);
      const record: VersionProvenance = {
        version: manifest.version,
        publishedAt: new Date().toISOString(),
        publishedBy,
        jobId: manifest.provenance.jobId ?? null,
        members: manifest.members.length,
      };
      // one transaction: a version is never current without its provenance
      await this.ctx.storage.put({
        state: { ...state, latest: manifest.version, current: manifest.version },
        [provenanceKey(manifest.version)]: record,
      });
      await putJson(this.store, pointerKey(manifest.name), { name: manifest.name, version: manifest.version });
      return { ok: true as const, version: manifest.version, previous: state.current };
    });
  }

  rollback(name: string, version: number): Promise<RegistryResult> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const state = await this.state();
      if (!Number.isInteger(version) || version < 1 || version > state.latest) {
        return {
          ok: false as const,
          code: 'unknown_version' as const,
          message: `version ${version} was never published`,
        };
      }
      const manifest = EnsembleManifestSchema.safeParse(await getJson(this.store, versionKey(name, version)));
      if (!manifest.success) {
        return { ok: false as const, code: 'unknown_version' as const, message: `version ${version} is unreadable` };
      }
      await this.ctx.storage.put('state', { ...state, current: version });
      await putJson(this.store, pointerKey(name), { name, version });
      return { ok: true as const, version, previous: state.current };
    });
  }

  /** Archives (`archived` true) or restores (false); a second archive or a restore of a live ensemble is refused. */
  setArchived(name: string, archived: boolean): Promise<ArchiveResult> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const state = await this.state();
      if (state.latest === 0) {
        return { ok: false as const, code: 'not_found' as const, message: `ensemble '${name}' does not exist` };
      }
      if ((state.archived === true) === archived) {
        return archived
          ? { ok: false as const, code: 'already_archived' as const, message: `ensemble '${name}' is already archived` }
          : { ok: false as const, code: 'not_archived' as const, message: `ensemble '${name}' is not archived` };
      }
      await this.ctx.storage.put('state', { ...state, archived });
      return { ok: true as const, version: state.current, archived };
    });
  }
}
