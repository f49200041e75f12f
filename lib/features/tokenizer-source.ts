import type { TokenizerRef } from '../schema';
import type { TextTokenizer } from './tokenizer';

/** Where a featurizer gets a ready tokenizer for a stored tokenizer.json (TokenizerCache in lib/ensemble). */
export interface TokenizerSource {
  tokenizer(ref: TokenizerRef): Promise<TextTokenizer>;
}
