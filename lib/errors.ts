import type { ProblemCode } from './schema/problem';

/**
 * Typed errors of the core library. Each carries a stable `code`; HTTP_OF_ERROR below is the one
 * table that maps it to an HTTP status and the public problem `code`, used by the edge and the
 * container alike, so the library never needs to know about HTTP.
 */
export type ChorusErrorCode =
  | 'invalid_argument'
  | 'shape_mismatch'
  | 'not_finite'
  | 'empty_members'
  | 'invalid_weights'
  | 'invalid_manifest'
  | 'invalid_input'
  | 'input_limit'
  | 'unknown_strategy'
  | 'model_integrity'
  | 'no_healthy_member'
  | 'not_found'
  | 'conflict';

export class ChorusError extends Error {
  override readonly name: string = 'ChorusError';
  readonly code: ChorusErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ChorusErrorCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export const isChorusError = (e: unknown): e is ChorusError => e instanceof ChorusError;

/** Library error code → [HTTP status, public problem code]. */
export const HTTP_OF_ERROR: Readonly<Record<ChorusErrorCode, readonly [number, ProblemCode]>> = Object.freeze({
  invalid_argument: [400, 'invalid_argument'],
  shape_mismatch: [400, 'invalid_input'],
  not_finite: [400, 'invalid_input'],
  empty_members: [400, 'invalid_argument'],
  invalid_weights: [400, 'invalid_argument'],
  invalid_manifest: [400, 'invalid_manifest'],
  invalid_input: [400, 'invalid_input'],
  input_limit: [413, 'input_limit_exceeded'],
  unknown_strategy: [400, 'unknown_strategy'],
  model_integrity: [502, 'model_integrity'],
  no_healthy_member: [503, 'no_healthy_member'],
  not_found: [404, 'not_found'],
  conflict: [409, 'version_conflict'],
});

/** Status, public code, message and details of a library error, for an HTTP answer. */
export function httpOfError(err: ChorusError): {
  status: number;
  code: ProblemCode;
  detail: string;
  details?: unknown;
} {
  const [status, code] = HTTP_OF_ERROR[err.code];
  return { status, code, detail: err.message, ...(err.details ? { details: err.details } : {}) };
}
