import { ChorusError } from '../errors';
import { TextTokenizer, type TokenizerSource } from '../features';
import type { TokenizerRef } from '../schema';
import { sha256Hex, tokenizerKey } from '../store';

/**
 * Tokenizers parsed once per isolate, keyed by sha256, the `max` most recently used kept. As with
 * models, the bytes are hashed before they are parsed, so a swapped or damaged object never
 * tokenizes; a failed load is not cached, so the next request tries again.
 */
export class TokenizerCache implements TokenizerSource {
  private readonly entries = new Map<string, Promise<TextTokenizer>>();

  constructor(
    private readonly get: (key: string) => Promise<Uint8Array | null>,
    private readonly max = 8,
  ) {}

  tokenizer(ref: TokenizerRef): Promise<TextTokenizer> {
    const expected = tokenizerKey(ref.sha256);
    if (ref.key !== expected) {
      return Promise.reject(new ChorusError('model_integrity', `tokenizer key ${ref.key} is not ${expected}`));
    }
    const hit = this.entries.get(ref.sha256);
    if (hit) {
      this.entries.delete(ref.sha256);
      this.entries.set(ref.sha256, hit);
      return hit;
    }
    const loading = this.load(ref);
    this.entries.set(ref.sha256, loading);
    loading.catch(() => {
      if (this.entries.get(ref.sha256) === loading) this.entries.delete(ref.sha256);
    });
    for (const sha of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(sha);
    }
    return loading;
  }

  private async load(ref: TokenizerRef): Promise<TextTokenizer> {
    const bytes = await this.get(ref.key);
    if (bytes === null) throw new ChorusError('not_found', `tokenizer object ${ref.key} is missing`);
    const actual = await sha256Hex(bytes);
    if (actual !== ref.sha256) {
      throw new ChorusError(
        'model_integrity',
        `tokenizer ${ref.key} has sha256 ${actual}, manifest says ${ref.sha256}`,
      );
    }
    return TextTokenizer.fromBytes(bytes);
  }
}
