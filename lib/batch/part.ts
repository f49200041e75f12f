import { type EngineInput, validateInputs } from '../ensemble/validate-inputs';
import { ChorusError, isChorusError } from '../errors';
import type {
  BatchErrorRecord,
  BatchLine,
  BatchPartMarker,
  BatchResultRecord,
  InputSpec,
  PredictResponse,
} from '../schema';
import { eachLine, parseLine } from './lines';

/** Runs the ensemble on some inputs (predictEnsemble over the edge's sessions, in production). */
export type PredictRows = (inputs: EngineInput[]) => Promise<PredictResponse>;

/** A line's input: its `input`, or its raw e-mail's bytes as the spec's one rfc822 field. */
function inputOf(line: BatchLine, spec: InputSpec): EngineInput {
  if (line.rfc822_base64 === undefined) return line.input ?? {};
  const fields = Object.entries(spec.fields).filter(([, f]) => f.type === 'text' && f.format === 'rfc822');
  const field = fields.length === 1 ? fields[0]?.[0] : undefined;
  if (field === undefined) {
    throw new ChorusError('invalid_input', `rfc822_base64: the ensemble has ${fields.length} rfc822 fields, not one`);
  }
  // atob gives one char per byte (0–255): the message's bytes exactly as sent
  return { [field]: Uint8Array.from(atob(line.rfc822_base64), (c) => c.charCodeAt(0)) };
}

/** A result as a part stores it: `line` is 1-based within the part. */
export type PartResult = BatchResultRecord;

export interface PartOutput {
  results: PartResult[];
  errors: BatchErrorRecord[];
  marker: BatchPartMarker;
}

export interface PartOptions extends ClassifyOptions {
  part: number;
  predict: PredictRows;
  /** rows per engine call: large enough to amortise, small enough for the isolate's memory */
  chunkRows?: number;
}

/** A line that passed parsing and validation: it will be predicted. */
export interface ValidRow {
  line: number;
  id?: string;
  input: EngineInput;
  raw: string;
  rawTruncated: boolean;
}

export interface ClassifyOptions {
  maxLineBytes: number;
  spec: InputSpec;
  /**
   * Lines (1-based within the part) whose caller id an earlier part of the file already used: the
   * batch's coordinator knows them before the part runs (functions/edge/batch/scan.ts), so such a
   * row goes to errors without being predicted or charged.
   */
  duplicateLines?: ReadonlySet<number>;
  /** bad lines a batch may have (DEFAULT_MAX_BAD_LINES when unset); one more stops the part */
  maxBadLines?: number;
  /** the part's number, for the reason a part over the cap gives */
  part?: number;
}

/**
 * Bad lines a batch may have before it fails. Each costs an errors-file record of ~100 bytes
 * however short the line: without a cap a 4 MiB part of newlines held 4 million records
 * (≈ 850 MiB of heap, seconds of CPU) and wrote ≈ 90 times its size.
 */
export const DEFAULT_MAX_BAD_LINES = 10_000;

/** A part (or a batch, at its coordinator) with more bad lines than its cap: the batch fails, not retried. */
export class TooManyBadLinesError extends Error {
  override readonly name = 'TooManyBadLinesError';
  readonly code = 'too_many_bad_lines';
}

/** A batch over its cap: where (`part`, or the whole batch) and its first bad line, if known. */
export function tooManyBadLines(maxBadLines: number, part?: number, first?: BatchErrorRecord): TooManyBadLinesError {
  const where = part === undefined ? 'the batch' : `part ${part}`;
  const example = first ? `; the first is its line ${first.line} (${first.code})` : '';
  return new TooManyBadLinesError(
    `too_many_bad_lines: more than ${maxBadLines} bad lines (BATCH_MAX_BAD_LINES) in ${where}${example}`,
  );
}

const duplicate = (id: string): { code: 'duplicate_id'; message: string } => ({
  code: 'duplicate_id',
  message: `id '${id}' already appeared in this file`,
});

/**
 * Sorts a part's lines: each bad line to errors with its code (unreadable, invalid input, an id
 * used before), the rest to the rows to predict. Only a valid row claims its id, so the scan that
 * finds duplicates across parts (the same function, run on every part in file order) agrees with it.
 */
export function classifyLines(
  bytes: Uint8Array,
  options: ClassifyOptions,
): { lines: number; errors: BatchErrorRecord[]; valid: ValidRow[] } {
  const maxBad = options.maxBadLines ?? DEFAULT_MAX_BAD_LINES;
  const errors: BatchErrorRecord[] = [];
  const valid: ValidRow[] = [];
  const seen = new Set<string>();
  let line = 0;
  const classify = (b: Uint8Array): void => {
    line += 1;
    const parsed = parseLine(b, options.maxLineBytes);
    if (parsed.kind === 'error') {
      const { kind: _, ...record } = parsed;
      errors.push({ line, ...record });
      return;
    }
    const { id } = parsed.line;
    const base = { line, ...(id === undefined ? {} : { id }), raw: parsed.raw, rawTruncated: parsed.rawTruncated };
    if (id !== undefined && (seen.has(id) || options.duplicateLines?.has(line))) {
      errors.push({ ...base, ...duplicate(id) });
      return;
    }
    let input: EngineInput;
    try {
      input = inputOf(parsed.line, options.spec);
      validateInputs(options.spec, [input]);
    } catch (e) {
      if (!isChorusError(e)) throw e;
      errors.push({ ...base, code: 'invalid_input', message: e.message.replace(/^inputs\[0\]\./, 'input.') });
      return;
    }
    if (id !== undefined) seen.add(id);
    valid.push({ ...base, input });
  };
  for (const b of eachLine(bytes)) {
    classify(b);
    // stops as soon as the cap is passed: the rest of the part is never parsed
    if (errors.length > maxBad) throw tooManyBadLines(maxBad, options.part, errors[0]);
  }
  return { lines: line, errors, valid };
}

/**
 * One part of a batch: sorts its lines (classifyLines) and predicts the valid rows in chunks, in
 * order. A failing engine call throws, so the whole part is retried and nothing partial is written.
 */
export async function runPart(bytes: Uint8Array, options: PartOptions): Promise<PartOutput> {
  const { lines, errors, valid } = classifyLines(bytes, options);
  const results: PartResult[] = [];
  let units = 0;
  const chunk = options.chunkRows ?? 64;
  for (let i = 0; i < valid.length; i += chunk) {
    const rows = valid.slice(i, i + chunk);
    const answer = await options.predict(rows.map((r) => r.input));
    units += answer.usage.units;
    rows.forEach((row, k) => {
      const p = answer.predictions[k];
      if (!p) throw new Error(`the engine answered ${answer.predictions.length} of ${rows.length} rows`);
      results.push({
        line: row.line,
        ...(row.id === undefined ? {} : { id: row.id }),
        label: p.label,
        probabilities: p.probabilities,
        uncertainty: p.uncertainty,
        // as if predicted alone: what ran for this row (its cascade's cut) and did not abstain
        ran: p.ran ?? answer.ran.filter((m) => p.abstained !== 'all' && !p.abstained.includes(m)),
        abstained: p.abstained,
        degraded: answer.degraded,
      });
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return {
    results,
    errors,
    marker: { part: options.part, lines, ok: results.length, errors: errors.length, units },
  };
}
