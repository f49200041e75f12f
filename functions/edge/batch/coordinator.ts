import { DurableObject } from 'cloudflare:workers';
import { BatchAssembler, type BatchUsageSink, NOOP_BATCH_USAGE_SINK } from '../../../lib/batch';
import type { BatchPartMarker, BatchState, BatchStatus } from '../../../lib/schema';
import { type BlobStore, batchKeys, getText } from '../../../lib/store';
import { type EdgeEnv, storeFromEnv } from '../env';

/** What the consumer knows when it plans a batch. */
export interface BatchPlan {
  id: string;
  key: string;
  eTag: string;
  ensemble: string;
  version: number;
  bytes: number;
  parts: number;
}

/** Where batch rows are metered: pay-per-use replaces this default. */
export function batchUsageSinkFor(_env: EdgeEnv): BatchUsageSink {
  return NOOP_BATCH_USAGE_SINK;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batch (
  id TEXT PRIMARY KEY, key TEXT NOT NULL, etag TEXT NOT NULL, ensemble TEXT NOT NULL, version INTEGER NOT NULL,
  bytes INTEGER NOT NULL, parts INTEGER NOT NULL, state TEXT NOT NULL, failure TEXT,
  lines INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
  part INTEGER PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0, lines INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, units REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);`;

type BatchRow = {
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
};

/**
 * One batch's state in SQLite: the plan, which parts are done with their counts, the last error
 * of each part, and the outcome. Parts report in any order and any number of times; the first
 * report of a part counts (rows are metered then), and the report that completes the set
 * assembles the final files in part order. Calls run one at a time (blockConcurrencyWhile), so
 * a part reported twice at once is counted and assembled once.
 */
export class BatchCoordinator extends DurableObject<EdgeEnv> {
  private readonly sql: SqlStorage;
  private readonly store: BlobStore;
  private readonly usage: BatchUsageSink;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.store = storeFromEnv(env);
    this.usage = batchUsageSinkFor(env);
    this.sql.exec(SCHEMA);
  }

  private row(): BatchRow | null {
    return this.sql.exec<BatchRow>('SELECT * FROM batch LIMIT 1').toArray()[0] ?? null;
  }

  status(): BatchStatus | null {
    const b = this.row();
    if (!b) return null;
    const done = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM parts WHERE done = 1').one().n;
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
      parts: { done, total: b.parts },
      resultsKey: keys.results,
      errorsKey: keys.errors,
      ...(b.failure === null ? {} : { failure: b.failure }),
      createdAt: b.created_at,
      updatedAt: b.updated_at,
    };
  }

  /** Records the plan once (a re-delivered notification keeps the first); says which parts are done. */
  plan(plan: BatchPlan): { status: BatchStatus; doneParts: number[] } {
    const now = new Date().toISOString();
    this.sql.exec(
      `INSERT OR IGNORE INTO batch (id, key, etag, ensemble, version, bytes, parts, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      plan.id,
      plan.key,
      plan.eTag,
      plan.ensemble,
      plan.version,
      plan.bytes,
      plan.parts,
      now,
      now,
    );
    const doneParts = this.sql
      .exec<{ part: number }>('SELECT part FROM parts WHERE done = 1 ORDER BY part')
      .toArray()
      .map((r) => r.part);
    return { status: this.status() as BatchStatus, doneParts };
  }

  partDone(marker: BatchPartMarker): Promise<BatchStatus | null> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const b = this.row();
      if (!b || b.state === 'done' || b.state === 'failed') return this.status();
      const already = this.sql
        .exec<{ done: number }>('SELECT done FROM parts WHERE part = ?', marker.part)
        .toArray()[0];
      if (already?.done !== 1) {
        this.sql.exec(
          `INSERT INTO parts (part, done, lines, ok, errors, units) VALUES (?, 1, ?, ?, ?, ?)
           ON CONFLICT(part) DO UPDATE SET done = 1, lines = excluded.lines, ok = excluded.ok,
             errors = excluded.errors, units = excluded.units`,
          marker.part,
          marker.lines,
          marker.ok,
          marker.errors,
          marker.units,
        );
        this.touch();
        await this.usage.partCounted(b.id, marker.part, marker.ok, marker.units);
      }
      const done = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM parts WHERE done = 1').one().n;
      if (done === b.parts) await this.assemble(b);
      return this.status();
    });
  }

  /** The last error of a part, kept so the dead-letter consumer can say why the batch failed. */
  partFailed(part: number, attempts: number, reason: string): void {
    this.sql.exec(
      `INSERT INTO parts (part, attempts, last_error) VALUES (?, ?, ?)
       ON CONFLICT(part) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error`,
      part,
      attempts,
      reason.slice(0, 1000),
    );
    this.touch();
  }

  /** Marks the batch failed (a dead-lettered part or notification); a finished batch stays finished. */
  fail(part: number | null, fallback: string, plan?: BatchPlan): BatchStatus | null {
    if (!this.row() && plan) this.plan(plan);
    const last =
      part === null
        ? undefined
        : this.sql
            .exec<{ last_error: string | null }>('SELECT last_error FROM parts WHERE part = ?', part)
            .toArray()[0];
    const reason = `part ${part ?? 0} dead-lettered: ${last?.last_error ?? fallback}`;
    this.sql.exec(
      "UPDATE batch SET state = 'failed', failure = ?, updated_at = ? WHERE state NOT IN ('done', 'failed')",
      reason,
      new Date().toISOString(),
    );
    return this.status();
  }

  private touch(): void {
    this.sql.exec('UPDATE batch SET updated_at = ?', new Date().toISOString());
  }

  /**
   * Sequential concatenation: part outputs are read one at a time and the final files are written
   * with one put each, so a batch's results and errors must fit the isolate's memory (tens of MB);
   * larger batches need a multipart upload here.
   */
  private async assemble(b: BatchRow): Promise<void> {
    this.sql.exec("UPDATE batch SET state = 'assembling'");
    const keys = batchKeys(b.id);
    const assembler = new BatchAssembler();
    const results: string[] = [];
    const errors: string[] = [];
    const parts = this.sql.exec<{ part: number; lines: number }>('SELECT part, lines FROM parts ORDER BY part');
    for (const { part, lines } of parts.toArray()) {
      const [r, e] = await Promise.all([
        getText(this.store, keys.partResults(part)),
        getText(this.store, keys.partErrors(part)),
      ]);
      if (r === null || e === null) throw new Error(`part ${part} of batch ${b.id} has no stored output`);
      const out = assembler.add({ lines, results: r, errors: e });
      results.push(out.results);
      errors.push(out.errors);
    }
    const jsonl = { contentType: 'application/x-ndjson' };
    await this.store.put(keys.results, results.join(''), jsonl);
    await this.store.put(keys.errors, errors.join(''), jsonl);
    this.sql.exec(
      "UPDATE batch SET state = 'done', lines = ?, ok = ?, errors = ?, updated_at = ?",
      assembler.lines,
      assembler.ok,
      assembler.errors,
      new Date().toISOString(),
    );
  }
}
