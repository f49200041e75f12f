import { ChorusError } from '../../errors';
import { murmur3String, parseEmail } from '../../features';
import type { InputSpec, PredictInput } from '../../schema';

/** Seed of the fold hash (the zoo's split hashes the same key with another seed). */
export const FOLD_SEED = 0xf01d;

/**
 * Near-duplicate key: the body reduced to its letters (URLs, digits, punctuation, case and
 * whitespace dropped), first 2,000 letters. Exact copies and copies that differ only in tracking
 * numbers, links or spacing share a key, and so a split and a fold.
 */
export function duplicateKey(body: string): string {
  return body
    .toLowerCase()
    .replace(/https?:\/\/\S+|www\.\S+/g, '')
    .replace(/[^\p{L}]+/gu, '')
    .slice(0, 2000);
}

/**
 * A row's group key: its near-duplicate key, or `empty:{fallback}` (the row's id, else its index)
 * when it has no letters, so that empty rows do not all fall into one group.
 */
export function groupKey(text: string | undefined, fallback: string): string {
  const letters = text === undefined ? '' : duplicateKey(text);
  return letters.length > 0 ? letters : `empty:${fallback}`;
}

/**
 * Group keys of dataset rows, from the text a row shows: the body of the first text field when it
 * is an e-mail, the field itself otherwise; rows of tensor-only inputs are keyed by id or index.
 */
export async function rowGroupKeys(
  spec: InputSpec,
  inputs: readonly PredictInput[],
  ids: readonly (string | undefined)[] = [],
): Promise<string[]> {
  const text = Object.entries(spec.fields).find(([, f]) => f.type === 'text');
  return Promise.all(
    inputs.map(async (input, i) => {
      const fallback = ids[i] ?? `#${i}`;
      if (!text) return groupKey(undefined, fallback);
      const [name, field] = text;
      const raw = input[name];
      if (typeof raw !== 'string') return groupKey(undefined, fallback);
      const body = field.type === 'text' && field.format === 'rfc822' ? (await parseEmail(raw)).body : raw;
      return groupKey(body, fallback);
    }),
  );
}

/** K folds that keep each group together: fold = murmur3(key, FOLD_SEED) mod k. */
export function groupedFolds(keys: readonly string[], k: number): number[] {
  if (!Number.isInteger(k) || k < 2)
    throw new ChorusError('invalid_argument', `folds must be an integer ≥ 2, got ${k}`);
  return keys.map((key) => murmur3String(key, FOLD_SEED) % k);
}

/** Positions fitted on and held out in fold `f`. */
export function foldRows(folds: readonly number[], f: number): { fit: number[]; held: number[] } {
  const fit: number[] = [];
  const held: number[] = [];
  folds.forEach((g, i) => {
    (g === f ? held : fit).push(i);
  });
  return { fit, held };
}
