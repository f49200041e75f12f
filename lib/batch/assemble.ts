import type { BatchErrorRecord } from '../schema';
import type { PartResult } from './part';

/** One part's stored output, as JSONL text, and how many input lines it covered. */
export interface PartFiles {
  lines: number;
  results: string;
  errors: string;
}

/** Rows as JSONL: one JSON value per line, each line ending in LF. */
export const toJsonl = (rows: readonly unknown[]): string => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

function parseJsonl<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/**
 * Joins parts in order into the final files: line numbers become file-wide and each part's
 * errors stay in line order. Ids repeated across parts are errors of their own part already (the
 * scan before fan-out claims every id, functions/edge/batch/scan.ts), so nothing is held across
 * parts but the counts: memory stays one part's share however many ids the file has.
 */
export class BatchAssembler {
  private offset = 0;
  lines = 0;
  ok = 0;
  errors = 0;

  add(part: PartFiles): { results: string; errors: string } {
    const results = parseJsonl<PartResult>(part.results).map((r) => {
      // parts stored before results stopped carrying their raw line still have it
      const { raw: _raw, rawTruncated: _cut, ...record } = r as PartResult & { raw?: string; rawTruncated?: boolean };
      return { ...record, line: record.line + this.offset };
    });
    const errors = parseJsonl<BatchErrorRecord>(part.errors).map((e) => ({ ...e, line: e.line + this.offset }));
    this.offset += part.lines;
    this.lines += part.lines;
    this.ok += results.length;
    this.errors += errors.length;
    return { results: toJsonl(results), errors: toJsonl(errors) };
  }
}
