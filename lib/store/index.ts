export { type BlobHead, type BlobStore, getJson, getText, putJson } from './blob-store';
export {
  BATCHES_INCOMING_PREFIX,
  batchIncomingKey,
  batchKeys,
  ENSEMBLES_PREFIX,
  ensembleOfIncomingKey,
  ensembleOfPointer,
  JOBS_PREFIX,
  jobKeys,
  jobOfStatusKey,
  modelKey,
  pointerKey,
  scoreCacheKey,
  sha256Hex,
  tokenizerKey,
  USAGE_PREFIX,
  usageExportKey,
  versionKey,
} from './keys';
export { MemoryBlobStore } from './memory';
export { R2BlobStore, type R2BucketLike } from './r2';
export { S3BlobStore, type S3Config } from './s3';
