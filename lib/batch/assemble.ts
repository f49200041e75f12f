import type { BatchErrorRecord, BatchResultRecord } from '../schema';
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
 * Joins parts in order into the final files: line numbers become file-wide, a caller id seen in
 * an earlier part moves the later row to errors (`duplicate_id`), and each part's errors stay in
 * line order. Only the ids seen so far are held across parts.
 */
export class BatchAssembler {
  private readonly seen = new Set<string>();
  private offset = 0;
  lines = 0;
  ok = 0;
  errors = 0;

  add(part: PartFiles): { results: string; errors: string } {
    const results: BatchResultRecord[] = [];
    const moved: BatchErrorRecord[] = [];
    for (const r of parseJsonl<PartResult>(part.results)) {
      const { raw, rawTruncated, ...record } = r;
      record.line += this.offset;
      if (record.id !== undefined && this.seen.has(record.id)) {
        moved.push({
          line: record.line,
          id: record.id,
          raw: raw ?? '',
          rawTruncated: rawTruncated ?? false,
          code: 'duplicate_id',
          message: `id '${record.id}' already appeared in this file`,
        });
        continue;
      }
      if (record.id !== undefined) this.seen.add(record.id);
      results.push(record);
    }
    const own = parseJsonl<BatchErrorRecord>(part.errors).map((e) => ({ ...e, line: e.line + this.offset }));
    const errors = [...own, ...moved].sort((a, b) => a.line - b.line);
    this.offset += part.lines;
    this.lines += part.lines;
    this.ok += results.length;
    this.errors += errors.length;
    return { results: toJsonl(results), errors: toJsonl(errors) };
  }
}
