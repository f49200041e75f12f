export { EMAIL_LIMITS, type EmailLimit, type EmailViews, parseEmail } from './email';
export { FEATURIZERS, type FeatureShape, type FeaturizeBatch, type FeaturizerKind, featurizerFor } from './featurizers';
export { murmur3, murmur3String } from './hash';
export {
  featurizeInto,
  featurizeRows,
  featurizeText,
  hashedBuckets,
  paddedIds,
  type SparseVector,
  sparseFeatures,
  toDense,
  toIds,
} from './hashed';
export { concatBytes } from './linear-mime';
export { featurizeSparseRows, type SparseBatch } from './sparse-rows';
export type { FeatureTensor } from './tensor';
export { countWords, extractUrls, htmlToText, normalizeText, wordTokens } from './text';
export { TextTokenizer, tokenizeBatch } from './tokenizer';
export type { TokenizerSource } from './tokenizer-source';
