/**
 * Typed errors of the core library. Each carries a stable `code` that the HTTP edge maps to an
 * RFC 9457 problem+json status, so the library never needs to know about HTTP.
 */
export type ChorusErrorCode =
  | 'invalid_argument'
  | 'shape_mismatch'
  | 'not_finite'
  | 'empty_members'
  | 'invalid_weights'
  | 'invalid_manifest'
  | 'invalid_input'
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
