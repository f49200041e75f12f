import type { BatchPartMarker, BatchState, BatchStatus } from '../../../lib/schema';
import { batchKeys } from '../../../lib/store';

/** The coordinator's tables: one batch row, and one row per part (done, counts, last error). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS batch (
  id TEXT PRIMARY KEY, key TEXT NOT NULL, etag TEXT NOT NULL, ensemble TEXT NOT NULL, version INTEGER NOT NULL,
  bytes INTEGER NOT NULL, parts INTEGER NOT NULL, state TEXT NOT NULL, failure TEXT,
  lines INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT);
CREATE TABLE IF NOT EXISTS parts (
  part INTEGER PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0, lines INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, units REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE TABLE IF NOT EXISTS ids (id TEXT PRIMARY KEY, part INTEGER NOT NULL, line INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS duplicates (part INTEGER NOT NULL, line INTEGER NOT NULL, PRIMARY KEY (part, line));
CREATE TABLE IF NOT EXISTS scanned (part INTEGER PRIMARY KEY);`;

/** A part's first report: done, with its counts. */
export function recordPartDone(sql: SqlStorage, marker: BatchPartMarker): void {
  sql.exec(
    `INSERT INTO parts (part, done, lines, ok, errors, units) VALUES (?, 1, ?, ?, ?, ?)
     ON CONFLICT(part) DO UPDATE SET done = 1, lines = excluded.lines, ok = excluded.ok,
       errors = excluded.errors, units = excluded.units`,
    ...[marker.part, marker.lines, marker.ok, marker.errors, marker.units],
  );
}

/** Claims parts' ids in order: the first row with an id keeps it, a later one is a duplicate; a part claims once. */
export function claimIdsOf(
  sql: SqlStorage,
  parts: readonly { part: number; ids: readonly { id: string; line: number }[] }[],
) {
  for (const { part, ids } of parts) {
    if (sql.exec('SELECT 1 FROM scanned WHERE part = ?', part).toArray().length > 0) continue;
    for (const { id, line } of ids) {
      const claim = sql.exec('INSERT OR IGNORE INTO ids VALUES (?, ?, ?)', id, part, line);
      if (claim.rowsWritten === 0) sql.exec('INSERT OR IGNORE INTO duplicates VALUES (?, ?)', part, line);
    }
    sql.exec('INSERT INTO scanned VALUES (?)', part);
  }
}

/** Forgets a batch: its row, parts, claimed ids and scans (a failed batch uploaded again starts over). */
export function forgetBatch(sql: SqlStorage): void {
  for (const table of ['batch', 'parts', 'ids', 'duplicates', 'scanned']) sql.exec(`DELETE FROM ${table}`);
}

export type BatchRow = {
  id: string;
  key: string;
  etag: string;
  ensemble: string;
  version: number;
  bytes: number;
  parts: number;
  state: string;
  failure: string | null;
  lines: number;
  ok: number;
  errors: number;
  created_at: string;
  updated_at: string;
  /** the API key id that uploaded the file (charged per part); null for files dropped into the bucket */
  owner: string | null;
};

/** The public status of a batch row and its number of finished parts. */
export function statusOf(b: BatchRow, partsDone: number): BatchStatus {
  const keys = batchKeys(b.id);
  return {
    id: b.id,
    state: b.state as BatchState,
    ensemble: b.ensemble,
    version: b.version,
    key: b.key,
    eTag: b.etag,
    bytes: b.bytes,
    counts: { lines: b.lines, ok: b.ok, errors: b.errors },
    parts: { done: partsDone, total: b.parts },
    resultsKey: keys.results,
    errorsKey: keys.errors,
    ...(b.failure === null ? {} : { failure: b.failure }),
    createdAt: b.created_at,
    updatedAt: b.updated_at,
  };
}
