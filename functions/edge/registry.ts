import { DurableObject } from 'cloudflare:workers';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { type BlobStore, getJson, pointerKey, putJson, versionKey } from '../../lib/store';
import { type EdgeEnv, storeFromEnv } from './env';

interface RegistryState {
  latest: number;
  current: number;
}

export type RegistryResult =
  | { ok: true; version: number; previous: number }
  | { ok: false; code: 'version_conflict' | 'unknown_version'; message: string };

/**
 * The single writer of which manifest version is current, one instance per ensemble name.
 * Publishes and rollbacks run one at a time (blockConcurrencyWhile), so two publishers of the
 * same version cannot both win — correctness does not rest on conditional PUTs, which local S3
 * servers ignore. Version objects are immutable; the pointer object mirrors the state for
 * readers outside the edge (jobs).
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

  async versions(): Promise<RegistryState> {
    return this.state();
  }

  publish(manifest: EnsembleManifest): Promise<RegistryResult> {
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
      await this.ctx.storage.put('state', { latest: manifest.version, current: manifest.version });
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
}
