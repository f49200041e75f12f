/** The example zoo: five members that look at different views of a message (logistic regression and fastText). */
import type { EnsembleManifest, HashedNgramFeaturizer } from '../lib/schema';
import type { FamilyOptions, TrainableFamily } from '../lib/train';
import { LABELS } from './corpus';

export interface MemberDefinition {
  id: string;
  family: TrainableFamily;
  featurizer: HashedNgramFeaturizer;
  options: FamilyOptions;
  costUnits: number;
  /** the member abstains on inputs whose view has fewer words than this (no evidence; lib/ensemble abstainsOn) */
  abstain?: { minTokens: number };
  bodyOnly: boolean;
  /**
   * its view is the body's content (words, characters or links). An input needs one such member
   * answering (`fusion.requireAnyOf`): without one — an empty body, a PDF alone, a two-word reply —
   * the subject and sender name are all there is, and those describe the 2002 collection more than
   * the mail ("Re: your account settings" with "thanks!" scored 0.9–1.0 spam). Such a message is
   * answered by the prior (`abstained: "all"`), not called spam with confidence.
   */
  bodyEvidence: boolean;
  description: string;
}

/** A member brought as ONNX (not trained here): scored, compressed and fused like the others, never retrained. */
export interface ByoDefinition {
  id: string;
  costUnits: number;
  abstain?: { minTokens: number };
  bodyOnly: boolean;
  bodyEvidence: boolean;
  description: string;
}

const field = 'message';

/** Character and transformer body members abstain below this many words ("test", a sign-in code): no evidence. */
export const BODY_MIN_TOKENS = 5;

/**
 * Every logistic regression here steps down linearly to zero over its epochs (Adam, 0.02 → 0), so
 * it ends at the regularised optimum rather than wherever a constant step's noise left it: on
 * validation, log-loss headers 0.207 → 0.167, URLs 0.217 → 0.211, body 0.076 → 0.068, message
 * 0.066 → 0.058.
 */
const LOGREG_DECAY = { finalLearningRate: 0 } as const;

/**
 * An input needs two members answering: a short subject and a sender name alone ("hi", no body)
 * are one view of a message, and in this 2002 corpus such notes were mostly spam, which says more
 * about the collection than about the note. With one member answering, the ensemble answers the
 * prior (`abstained: "all"`). A header-only message of five words or more is still answered:
 * `message-logreg` reads the subject too, and counts it towards its five words.
 */
export const ZOO_MIN_ANSWERING = 2;

export const ZOO: readonly MemberDefinition[] = [
  {
    id: 'headers-logreg',
    family: 'logreg',
    featurizer: {
      kind: 'hashed-ngrams',
      field,
      view: 'subject+headers',
      unit: 'word',
      ngram: [1, 2],
      buckets: 1 << 15,
      seed: 11,
      maxLength: 200,
      output: 'log-l2',
      ideographs: 'split',
      layout: 'sparse',
    },
    options: { epochs: 15, learningRate: 0.02, l2: 1e-4, seed: 11, ...LOGREG_DECAY },
    costUnits: 1,
    abstain: { minTokens: 1 },
    bodyOnly: false,
    bodyEvidence: false,
    description: 'subject and sender name; word 1-2 grams; logistic regression',
  },
  {
    id: 'body-chars-fasttext',
    family: 'fasttext',
    featurizer: {
      kind: 'hashed-ngrams',
      field,
      view: 'body',
      unit: 'char',
      ngram: [3, 5],
      buckets: 1 << 16,
      seed: 37,
      maxLength: 2000,
      output: 'ids',
      maxIds: 6000,
    },
    // 15 epochs (was 8): validation log-loss 0.085 → 0.073 at the same serving cost
    options: { dim: 16, epochs: 15, learningRate: 0.3, seed: 37 },
    costUnits: 3,
    abstain: { minTokens: BODY_MIN_TOKENS },
    bodyOnly: true,
    bodyEvidence: true,
    description: 'body character 3-5 grams; fastText-style embedding bag',
  },
  {
    id: 'urls-logreg',
    family: 'logreg',
    featurizer: {
      kind: 'hashed-ngrams',
      field,
      view: 'urls',
      unit: 'word',
      ngram: [1, 1],
      buckets: 1 << 14,
      seed: 41,
      maxLength: 400,
      output: 'log-l2',
      layout: 'sparse',
    },
    options: { epochs: 15, learningRate: 0.02, l2: 1e-4, seed: 41, ...LOGREG_DECAY },
    costUnits: 1,
    abstain: { minTokens: 1 },
    bodyOnly: false,
    bodyEvidence: true,
    description: 'URLs and link domains; logistic regression (abstains without a URL)',
  },
  {
    // Body words again, as logistic regression over log-l2 rows: length-normalised, so a short
    // note is not read as a long one, where naive Bayes (temperature 55) sits near 0.5 on
    // anything unfamiliar. Added on validation and its first-sentence slice (stacked, best
    // threshold): pooled 5 × ham called spam + spam missed 0.0624 → 0.0576, first-sentence
    // log-loss 0.100 → 0.076, ham above 0.9 17 → 14; sparse, so it costs its n-grams.
    id: 'body-logreg',
    family: 'logreg',
    featurizer: {
      kind: 'hashed-ngrams',
      field,
      view: 'body',
      unit: 'word',
      ngram: [1, 2],
      // 2^18, l2 1e-5 (was 2^16, 1e-4): fewer bigrams share a weight; alone on test 97.56 → 97.89 %,
      // ham FPR 0.85 → 0.24 % at its own validation threshold, ROC AUC 0.9986 → 0.9993. Sparse rows
      // gather only their own buckets, so the larger table costs resident bytes, not time.
      buckets: 1 << 18,
      seed: 29,
      maxLength: 3000,
      output: 'log-l2',
      ideographs: 'split',
      layout: 'sparse',
    },
    options: { epochs: 15, learningRate: 0.02, l2: 1e-5, seed: 29, ...LOGREG_DECAY },
    costUnits: 2,
    // Three words, not five: a word model reads "Lowest Viagra Prices Online!" as the evidence it
    // is, and an answer needs a body member (requireAnyOf). On validation, the soft vote's worst
    // content-slice spam recall (first sentence) 72.2 → 80.3 %, pooled cost 0.1232 → 0.1213.
    abstain: { minTokens: 3 },
    bodyOnly: true,
    bodyEvidence: true,
    description: 'body words 1-2 grams; logistic regression',
  },
  {
    // The whole message as one bag of words (subject, sender name, URLs and body together), so its
    // weights are learned jointly rather than per view. It took the place of body-words naive Bayes
    // (temperature 55: near 0.5 on anything unfamiliar). Compared on validation, the default's
    // accuracy went 96.55 → 97.17 % and its log-loss 0.058 → 0.050.
    id: 'message-logreg',
    family: 'logreg',
    featurizer: {
      kind: 'hashed-ngrams',
      field,
      view: 'all',
      unit: 'word',
      ngram: [1, 2],
      buckets: 1 << 18,
      seed: 31,
      maxLength: 3200,
      output: 'log-l2',
      ideographs: 'split',
      layout: 'sparse',
    },
    options: { epochs: 15, learningRate: 0.02, l2: 1e-5, seed: 31, ...LOGREG_DECAY },
    costUnits: 2,
    abstain: { minTokens: BODY_MIN_TOKENS },
    bodyOnly: false,
    bodyEvidence: false,
    description: 'subject, sender name, URLs and body words 1-2 grams; logistic regression',
  },
];

/** What every zoo manifest shares: name, task, labels and the one e-mail input. */
export function zooManifestHead(): Pick<EnsembleManifest, 'name' | 'version' | 'task' | 'labels' | 'input'> {
  return {
    name: 'spam',
    version: 1,
    task: 'classification',
    labels: [...LABELS],
    input: { fields: { message: { type: 'text', format: 'rfc822', maxLength: 1_000_000, required: true } } },
  };
}
