export { EMAIL_LIMITS, type EmailLimit, type EmailViews, parseEmail } from './email';
export { murmur3, murmur3String } from './hash';
export {
  featurizeInto,
  featurizeText,
  hashedBuckets,
  paddedIds,
  type SparseVector,
  sparseFeatures,
  toDense,
  toIds,
} from './hashed';
export { extractUrls, htmlToText, normalizeText, wordTokens } from './text';
