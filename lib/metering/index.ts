/** API keys, scopes, quotas, usage units and billing records: pure logic, no runtime globals. */
export {
  type BucketPolicy,
  type BucketState,
  parsePolicy,
  rateLimitHeaders,
  refill,
  type Take,
  take,
} from './bucket';
export {
  base58,
  DISPLAY_CHARS,
  displayPrefix,
  generateKey,
  generateKeyId,
  hashKey,
  KEY_PREFIX,
  looksLikeKey,
  parseBearer,
  timingSafeEqual,
} from './key';
export {
  batchPartRef,
  type ChargeKind,
  type ChargeRequest,
  type ChargeResult,
  jobRef,
  type Meter,
  type Reservation,
  type Settlement,
  type UsageSink,
} from './meter';
export { authorize, type Decision, type Grant, hasScope } from './scopes';
export { formatMilli, fromMilli, maxUnits, refundUnits, toMilli } from './units';
export {
  CSV_HEADER,
  DAY_MS,
  type DailyAggregate,
  dayOf,
  HOUR_MS,
  type HourlyAggregate,
  hourStart,
  meterEvents,
  meterIdentifier,
  toCsv,
  toNdjson,
  usageReport,
} from './usage';
