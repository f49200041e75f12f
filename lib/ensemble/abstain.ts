import { countWords, normalizeText } from '../features';
import type { MemberSpec } from '../schema';

/**
 * Whether a member has no evidence in the text its featurizer reads (its e-mail view, or the
 * text field): fewer words than its manifest's `abstain.minTokens` (symbols such as `!` are tokens
 * but not words: "FREE MONEY!!!" is two). The same rule is used in training (members are fitted
 * on the rows where they answer) and in serving.
 */
export function abstainsOn(member: Pick<MemberSpec, 'abstain' | 'featurizer'>, text: string): boolean {
  const min = member.abstain?.minTokens;
  if (min === undefined) return false;
  // words as a word featurizer cuts them (ideographs one by one, when it splits them); the char
  // unit ignores the option
  const f = member.featurizer;
  const split = f.kind === 'hashed-ngrams' && f.unit === 'word' && f.ideographs === 'split';
  // the first min words of a prefix are the first min words of the text; 64 characters a word is
  // plenty, so the whole text is read only when the prefix falls short
  const prefix = text.length > min * 64 ? text.slice(0, min * 64) : text;
  if (countWords(normalizeText(prefix), min, split) >= min) return false;
  return prefix === text || countWords(normalizeText(text), min, split) < min;
}
