import { ChorusError } from '../errors';
import type { TextTokenizer } from '../features';
import type { MemberSpec, TokenizerRef } from '../schema';
import { type BlobStore, modelKey, sha256Hex } from '../store';
import type { InferenceBackend, InputTensor, ModelSession, SessionOptions } from './backend';
import { isRuntimeAbort } from './ort-session';
import { TokenizerCache } from './tokenizers';
import { type UnwrappedOutput, unwrapZipMap } from './zipmap';

/**
 * Which members get their int8 weights dequantized once at load (fast, fp32 resident) rather than
 * on every run (slow, int8 resident): every member, none, or the listed member ids.
 */
export type FoldPolicy = 'all' | 'none' | readonly string[];

/** `all`, `none` or comma-separated member ids (the Worker's `FOLD_QUANTIZATION`); unset is `all`. */
export function parseFoldPolicy(value: string | undefined): FoldPolicy {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'all') return 'all';
  if (v === 'none') return 'none';
  return v
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

const foldsMember = (policy: FoldPolicy, memberId: string) =>
  policy === 'all' ? true : policy === 'none' ? false : policy.includes(memberId);

interface Entry {
  session: Promise<ModelSession>;
  /** resident bytes: the file's bytes until the session says what it holds */
  bytes: number;
}

/** A session whose ZipMap'd outputs say which class each column is (graph-check.ts compares them to the labels). */
function withClassLabels(session: ModelSession, unwrapped: readonly UnwrappedOutput[]): ModelSession {
  const outputs = session.outputs.map((o) => {
    const labels = unwrapped.find((u) => u.output === o.name)?.classLabels;
    return labels ? { ...o, classLabels: labels } : o;
  });
  return { ...session, outputs };
}

/**
 * Sessions cached per isolate, keyed by model sha256, evicted least-recently-used once their
 * resident bytes (weights as the runtime holds them: ≈ 4× an int8 file when quantization is
 * folded at load) exceed `maxBytes`. Every model's bytes are hashed before a session is made, so
 * a corrupted or swapped object never runs. A run that aborts the runtime (a wasm abort or trap)
 * drops every cached session, so the next request builds them again instead of failing forever.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private aborts = 0;
  /** tokenizer featurizers' tokenizer.json, parsed once per isolate (small beside the models) */
  private readonly tokenizers: TokenizerCache;

  constructor(
    private readonly backend: InferenceBackend,
    private readonly store: BlobStore,
    private readonly maxBytes: number,
    private readonly fold: FoldPolicy = 'all',
  ) {
    this.tokenizers = new TokenizerCache((key) => store.get(key));
  }

  /** A stored tokenizer.json, sha256-checked and parsed (TokenizerCache). */
  tokenizer(ref: TokenizerRef): Promise<TextTokenizer> {
    return this.tokenizers.tokenizer(ref);
  }

  /**
   * A cache of its own over the same backend and store, for checks (publish) that must neither
   * warm nor poison the serving cache; `clear()` it when done.
   */
  detached(): SessionCache {
    return new SessionCache(this.backend, this.store, this.maxBytes, this.fold);
  }

  /** How many runs aborted the runtime since this cache was made (each one emptied it). */
  get runtimeAborts(): number {
    return this.aborts;
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
    const { sha256: hash, key } = member.model;
    const options: SessionOptions = { foldQuantization: foldsMember(this.fold, member.id) };
    if (key !== modelKey(hash)) return this.load(key, hash, options);
    // one session per model and weight layout
    const sha256 = options.foldQuantization ? hash : `${hash}:unfolded`;
    const hit = this.entries.get(sha256);
    if (hit) {
      // Map order is recency order: re-insert on use.
      this.entries.delete(sha256);
      this.entries.set(sha256, hit);
      return hit.session;
    }
    const session = this.load(key, hash, options).then((s) => this.guarded(s));
    const entry: Entry = { session, bytes: member.model.bytes };
    this.entries.set(sha256, entry);
    this.total += entry.bytes;
    session.then(
      (s) => {
        // count what the session holds, not what the file weighs
        if (this.entries.get(sha256) !== entry || s.residentBytes === undefined) return;
        this.total += s.residentBytes - entry.bytes;
        entry.bytes = s.residentBytes;
        this.evict(sha256);
      },
      // A failed load must not stay cached: the next request retries.
      () => {
        if (this.entries.get(sha256) === entry) {
          this.entries.delete(sha256);
          this.total -= entry.bytes;
        }
      },
    );
    this.evict(sha256);
    return session;
  }

  /** The session, with a run that aborts the runtime emptying the cache (see the class note). */
  private guarded(session: ModelSession): ModelSession {
    const run = async (inputs: Record<string, InputTensor>, outputName: string) => {
      try {
        return await session.run(inputs, outputName);
      } catch (e) {
        if (isRuntimeAbort(e)) this.dropAll();
        throw e;
      }
    };
    return { ...session, run, release: () => session.release() };
  }

  private dropAll(): void {
    this.aborts++;
    const dead = [...this.entries.values()];
    this.entries.clear();
    this.total = 0;
    for (const e of dead) e.session.then((s) => s.release()).catch(() => undefined);
  }

  private async load(key: string, sha256: string, options: SessionOptions): Promise<ModelSession> {
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
    const { model, unwrapped } = unwrapZipMap(bytes);
    const session = await this.backend.createSession(model, options);
    return unwrapped.length === 0 ? session : withClassLabels(session, unwrapped);
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
