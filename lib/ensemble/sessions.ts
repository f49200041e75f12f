import { ChorusError } from '../errors';
import type { MemberSpec } from '../schema';
import { type BlobStore, modelKey, sha256Hex } from '../store';
import type { InferenceBackend, ModelSession } from './backend';

interface Entry {
  session: Promise<ModelSession>;
  bytes: number;
}

/**
 * Sessions cached per isolate, keyed by model sha256, evicted least-recently-used once the
 * models' bytes exceed `maxBytes`. Every model's bytes are hashed before a session is made, so a
 * corrupted or swapped object never runs.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(
    private readonly backend: InferenceBackend,
    private readonly store: BlobStore,
    private readonly maxBytes: number,
  ) {}

  /**
   * A cache of its own over the same backend and store, for checks (publish) that must neither
   * warm nor poison the serving cache; `clear()` it when done.
   */
  detached(): SessionCache {
    return new SessionCache(this.backend, this.store, this.maxBytes);
  }

  /** Releases every session and forgets them. */
  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.total = 0;
    await Promise.allSettled(entries.map(async (e) => (await e.session).release()));
  }

  get backendName(): string {
    return this.backend.name;
  }

  get residentBytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  session(member: MemberSpec): Promise<ModelSession> {
    const { sha256, key } = member.model;
    if (key !== modelKey(sha256)) return this.load(key, sha256);
    const hit = this.entries.get(sha256);
    if (hit) {
      // Map order is recency order: re-insert on use.
      this.entries.delete(sha256);
      this.entries.set(sha256, hit);
      return hit.session;
    }
    const session = this.load(key, sha256);
    const entry: Entry = { session, bytes: member.model.bytes };
    this.entries.set(sha256, entry);
    this.total += entry.bytes;
    // A failed load must not stay cached: the next request retries.
    session.catch(() => {
      if (this.entries.get(sha256) === entry) {
        this.entries.delete(sha256);
        this.total -= entry.bytes;
      }
    });
    this.evict(sha256);
    return session;
  }

  private async load(key: string, sha256: string): Promise<ModelSession> {
    // Key and hash are one identity: a member naming another object under a known sha256 must
    // not be served that sha256's cached session in a warm isolate and fail in a cold one.
    if (key !== modelKey(sha256)) {
      throw new ChorusError('model_integrity', `model key ${key} is not ${modelKey(sha256)} for its sha256`);
    }
    const bytes = await this.store.get(key);
    if (bytes === null) throw new ChorusError('not_found', `model object ${key} is missing`);
    const actual = await sha256Hex(bytes);
    if (actual !== sha256) {
      throw new ChorusError('model_integrity', `model ${key} has sha256 ${actual}, manifest says ${sha256}`);
    }
    return this.backend.createSession(bytes);
  }

  private evict(keep: string): void {
    for (const [sha, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (sha === keep) continue;
      this.entries.delete(sha);
      this.total -= entry.bytes;
      entry.session.then((s) => s.release()).catch(() => undefined);
    }
  }
}
