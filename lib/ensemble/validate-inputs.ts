import { ChorusError } from '../errors';
import { type InputSpec, type InputValue, isBuiltinName, type TensorDtype, type TensorValue } from '../schema';

/**
 * One example as the engine takes it: a request's JSON input (PredictInput), where an `rfc822`
 * field may instead hold the message's raw bytes (a `message/rfc822` body), decoded by the MIME
 * parser from the message's own charsets.
 */
export type EngineInput = Readonly<Record<string, InputValue | Uint8Array>>;

/** One thing wrong with one input, as the caller reads it in a 400. */
export interface InputIssue {
  index: number;
  field: string;
  reason: string;
}

/** Largest magnitude a float32 holds; JSON numbers beyond it would become ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Values each tensor dtype holds exactly; anything outside would wrap or round silently. */
const RANGE: Record<TensorDtype, (v: number) => string | null> = {
  float32: (v) => (Math.abs(v) > FLOAT32_MAX ? `${v} overflows float32 (|x| ≤ 3.4028235e38)` : null),
  // a JSON number is a double: every finite one is exact
  float64: () => null,
  int32: (v) =>
    !Number.isInteger(v)
      ? `${v} is not an integer`
      : v < -(2 ** 31) || v > 2 ** 31 - 1
        ? `${v} is outside int32 [-2^31, 2^31-1]`
        : null,
  // JSON numbers are doubles: an int64 beyond ±(2^53−1) has already lost its low bits.
  int64: (v) =>
    !Number.isInteger(v)
      ? `${v} is not an integer`
      : !Number.isSafeInteger(v)
        ? `${v} is outside the exactly representable range ±(2^53−1)`
        : null,
};

function tensorIssue(t: TensorValue, dtype: TensorDtype, shape: readonly number[]): string | null {
  if (t.dtype !== dtype) return `dtype ${t.dtype}, expected ${dtype}`;
  if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
    return `shape [${t.shape}], expected [${shape}]`;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) return `${t.data.length} values, shape [${shape}] needs ${size}`;
  const inRange = RANGE[dtype];
  for (let k = 0; k < t.data.length; k++) {
    const v = t.data[k] as number;
    if (!Number.isFinite(v)) return `data[${k}] is ${v}`;
    const bad = inRange(v);
    if (bad) return `data[${k}]: ${bad}`;
  }
  return null;
}

function issuesOf(spec: InputSpec, input: EngineInput, index: number): InputIssue[] {
  const issues: InputIssue[] = [];
  for (const name of Object.keys(input)) {
    if (isBuiltinName(name) || !Object.hasOwn(spec.fields, name)) {
      issues.push({ index, field: name, reason: `unknown field (expected ${Object.keys(spec.fields).join(', ')})` });
    }
  }
  for (const [name, field] of Object.entries(spec.fields)) {
    const value = Object.hasOwn(input, name) ? input[name] : undefined;
    if (value === undefined) {
      if (field.type === 'tensor' || field.required) issues.push({ index, field: name, reason: 'required' });
      continue;
    }
    if (field.type === 'text') {
      if (value instanceof Uint8Array && field.format === 'rfc822') {
        // raw bytes: the limit counts bytes (a character of a JSON string is 1–4 bytes of UTF-8)
        if (value.length > field.maxLength) {
          issues.push({ index, field: name, reason: `${value.length} bytes, at most ${field.maxLength}` });
        }
      } else if (typeof value !== 'string') issues.push({ index, field: name, reason: 'must be a string' });
      else if (value.length > field.maxLength) {
        issues.push({ index, field: name, reason: `${value.length} characters, at most ${field.maxLength}` });
      }
      continue;
    }
    if (typeof value === 'string' || value instanceof Uint8Array) {
      issues.push({ index, field: name, reason: 'must be a tensor' });
      continue;
    }
    const bad = tensorIssue(value, field.dtype, field.shape);
    if (bad) issues.push({ index, field: name, reason: bad });
  }
  return issues;
}

/** The error for a set of input issues: the message names the first, details list them all. */
export function inputError(issues: readonly InputIssue[]): ChorusError {
  const first = issues[0];
  const head = first ? `inputs[${first.index}].${first.field}: ${first.reason}` : 'invalid inputs';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : '';
  return new ChorusError('invalid_input', `${head}${more}`, { details: { issues } });
}

/**
 * Checks every example against the manifest's input spec and reports every offending
 * `inputs[i].field` at once, so one bad input never hides another.
 */
export function validateInputs(spec: InputSpec, inputs: readonly EngineInput[]): void {
  const issues = inputs.flatMap((input, i) => issuesOf(spec, input, i));
  if (issues.length > 0) throw inputError(issues);
}
