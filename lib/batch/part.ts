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
import { parseLine, splitLines } from './lines';

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

/** A result as a part stores it: `line` is 1-based within the part; raw is kept for a later duplicate. */
export type PartResult = BatchResultRecord & { raw?: string; rawTruncated?: boolean };

export interface PartOutput {
  results: PartResult[];
  errors: BatchErrorRecord[];
  marker: BatchPartMarker;
}

export interface PartOptions {
  part: number;
  maxLineBytes: number;
  spec: InputSpec;
  predict: PredictRows;
  /** rows per engine call: large enough to amortise, small enough for the isolate's memory */
  chunkRows?: number;
}

/**
 * One part of a batch: parses every line, sends each bad line to errors with its code, validates
 * the rest against the ensemble's input spec, and predicts the valid rows in chunks, in order.
 * A failing engine call throws, so the whole part is retried and nothing partial is written.
 */
export async function runPart(bytes: Uint8Array, options: PartOptions): Promise<PartOutput> {
  const lines = splitLines(bytes);
  const errors: BatchErrorRecord[] = [];
  const valid: { line: number; id?: string; input: EngineInput; raw: string; rawTruncated: boolean }[] = [];
  const seen = new Set<string>();
  lines.forEach((b, k) => {
    const line = k + 1;
    const parsed = parseLine(b, options.maxLineBytes);
    if (parsed.kind === 'error') {
      const { kind: _, ...record } = parsed;
      errors.push({ line, ...record });
      return;
    }
    const { id } = parsed.line;
    const base = { line, ...(id === undefined ? {} : { id }), raw: parsed.raw, rawTruncated: parsed.rawTruncated };
    if (id !== undefined && seen.has(id)) {
      errors.push({ ...base, code: 'duplicate_id', message: `id '${id}' already appeared in this file` });
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
  });

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
        ...(row.id === undefined ? {} : { id: row.id, raw: row.raw, rawTruncated: row.rawTruncated }),
        label: p.label,
        probabilities: p.probabilities,
        uncertainty: p.uncertainty,
        ran: answer.ran,
        abstained: p.abstained,
        degraded: answer.degraded,
      });
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return {
    results,
    errors,
    marker: { part: options.part, lines: lines.length, ok: results.length, errors: errors.length, units },
  };
}
