export { type EmailViews, parseEmail } from './email';
export { murmur3, murmur3String } from './hash';
export { featurizeText, hashedBuckets, type SparseVector, sparseFeatures, toDense, toIds } from './hashed';
export { extractUrls, htmlToText, normalizeText, wordTokens } from './text';
