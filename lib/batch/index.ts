export { BatchAssembler, type PartFiles, toJsonl } from './assemble';
export { objectCreatedEvent } from './event';
export { batchIdOf, normalizeEtag, retryDelaySeconds } from './id';
export { eachLine, type ParsedLine, parseLine, RAW_KEEP_CHARS, rawOf, splitLines } from './lines';
export {
  MULTIPART_MIN_PART_BYTES,
  type MultipartUpload,
  multipartPlan,
  type UploadedPart,
  uploadInParts,
} from './multipart';
export type { BatchObjects, ObjectVersion } from './objects';
export {
  type ClassifyOptions,
  classifyLines,
  DEFAULT_MAX_BAD_LINES,
  type PartOptions,
  type PartOutput,
  type PartResult,
  type PredictRows,
  runPart,
  TooManyBadLinesError,
  tooManyBadLines,
  type ValidRow,
} from './part';
export { type ByteRange, planParts, type ReadRange, readBoundedLines } from './plan';
export { type BatchUsageSink, NOOP_BATCH_USAGE_SINK } from './usage';
