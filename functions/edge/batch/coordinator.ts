import { DurableObject } from 'cloudflare:workers';
import {
  type BatchUsageSink,
  DEFAULT_MAX_BAD_LINES,
  NOOP_BATCH_USAGE_SINK,
  objectCreatedEvent,
  tooManyBadLines,
} from '../../../lib/batch';
import type { BatchPartMarker, BatchStatus } from '../../../lib/schema';
import { type BlobStore, batchKeys } from '../../../lib/store';
import { type EdgeEnv, numberVar, storeFromEnv } from '../env';
import { LazySchema } from '../lazy-schema';
import { batchSinkForKey } from '../metering/service';
import { assembleBatch } from './assemble';
import { batchObjectsFromEnv } from './objects';
import { type BatchRow, claimIdsOf, forgetBatch, recordPartDone, SCHEMA, statusOf } from './table';

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

/** How long a batch may stay queued before its file is announced again. */
const REANNOUNCE_MS = 60_000;

/**
 * Where a batch's rows are metered: the key that uploaded it through POST /v1/batches, once per
 * part (batch id + part is the idempotency key). A file dropped into the bucket directly belongs
 * to no key (its writer holds bucket credentials, not an API key) and is not metered.
 */
export function batchUsageSinkFor(env: EdgeEnv, owner: string | null, ensemble: string): BatchUsageSink {
  return owner ? batchSinkForKey(env, owner, ensemble) : NOOP_BATCH_USAGE_SINK;
}

/**
 * One batch's state in SQLite: the plan, which parts are done with their counts, the last error
 * of each part, and the outcome. Parts report in any order and any number of times; the first
 * report of a part counts (rows are metered then), and the report that completes the set
 * assembles the final files in part order. SQL calls are synchronous, so a check and its write
 * never interleave with another call; assembly (bucket I/O, no 30 s blockConcurrencyWhile limit)
 * runs once however many reports wait on it.
 */
export class BatchCoordinator extends DurableObject<EdgeEnv> {
  private readonly sql: SqlStorage;
  private readonly store: BlobStore;
  private assembling: Promise<void> | undefined;
  private readonly tables: LazySchema;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.store = storeFromEnv(env);
    // made by the first write: a status read of an id nobody uploaded stores nothing
    this.tables = new LazySchema(this.sql, SCHEMA, 'batch');
  }

  private row(): BatchRow | null {
    if (!this.tables.exists()) return null;
    return this.sql.exec<BatchRow>('SELECT * FROM batch LIMIT 1').toArray()[0] ?? null;
  }

  status(): BatchStatus | null {
    const b = this.row();
    if (!b) return null;
    return statusOf(b, this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM parts WHERE done = 1').one().n);
  }

  /**
   * The status as `reader` may see it: the key that uploaded the batch, or anyone privileged
   * (`null`: an admin key, the bootstrap token). Another key gets null, as for an unknown batch, so
   * a batch id does not tell whether the batch exists.
   */
  statusFor(reader: string | null): BatchStatus | null {
    const b = this.row();
    if (!b || (reader !== null && b.owner !== reader)) return null;
    return this.status();
  }

  /**
   * The upload route's record of a stored file, so its status answers before the consumer plans
   * it. The same bytes uploaded again after the batch failed run again from the start: its parts'
   * files are removed, then its rows. Messages of the failed run still queued are ignored unless
   * they match the new run's state and version (consumer.ts isCurrent), and a part file an old
   * run writes late carries its version, so a run on another version redoes that part.
   */
  async accept(plan: Omit<BatchPlan, 'version' | 'parts'> & { owner: string | null }): Promise<BatchStatus> {
    this.tables.create();
    if (this.row()?.state === 'failed') {
      for (const key of await this.store.list(batchKeys(plan.id).state)) await this.store.delete(key);
      if (this.row()?.state === 'failed') forgetBatch(this.sql);
    }
    const now = new Date().toISOString();
    this.sql.exec(
      `INSERT OR IGNORE INTO batch (id, key, etag, ensemble, version, bytes, parts, state, created_at, updated_at, owner)
       VALUES (?, ?, ?, ?, 0, ?, 0, 'queued', ?, ?, ?)`,
      plan.id,
      plan.key,
      plan.eTag,
      plan.ensemble,
      plan.bytes,
      now,
      now,
      plan.owner,
    );
    await this.ctx.storage.setAlarm(Date.now() + REANNOUNCE_MS);
    return this.status() as BatchStatus;
  }

  /**
   * A batch still queued after REANNOUNCE_MS never got its notification (a local queue lost in a
   * reload, a notification gone astray): announce the file again, as R2 would. Planning is
   * idempotent, so a late original does no harm. Running batches are left to their retries.
   */
  override async alarm(): Promise<void> {
    const b = this.row();
    if (b?.state !== 'queued') return;
    await this.env.BATCH_QUEUE.send(objectCreatedEvent(this.env.S3_BUCKET ?? 'chorus-dev', b.key, b.bytes, b.etag));
    await this.ctx.storage.setAlarm(Date.now() + REANNOUNCE_MS);
  }

  /** Records the plan once (a re-delivered notification keeps the first); says which parts are done. */
  plan(plan: BatchPlan): { status: BatchStatus; doneParts: number[] } {
    this.tables.create();
    const now = new Date().toISOString();
    this.sql.exec(
      `INSERT OR IGNORE INTO batch (id, key, etag, ensemble, version, bytes, parts, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)
       ON CONFLICT(id) DO UPDATE SET version = excluded.version, parts = excluded.parts, state = 'running',
         updated_at = excluded.updated_at WHERE batch.state = 'queued'`,
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

  async partDone(marker: BatchPartMarker): Promise<BatchStatus | null> {
    const b = this.row();
    if (!b || b.state === 'done' || b.state === 'failed') return this.status();
    const already = this.sql.exec<{ done: number }>('SELECT done FROM parts WHERE part = ?', marker.part).toArray()[0];
    if (already?.done !== 1) {
      // Metered before it is marked: a sink failure retries the part; the sink dedupes on (batch, part).
      await batchUsageSinkFor(this.env, b.owner, b.ensemble).partCounted(b.id, marker.part, marker.ok, marker.units);
      recordPartDone(this.sql, marker);
      this.touch();
    }
    const { n: done, bad } = this.sql
      .exec<{ n: number; bad: number }>('SELECT COUNT(*) AS n, TOTAL(errors) AS bad FROM parts WHERE done = 1')
      .one();
    const maxBad = numberVar(this.env.BATCH_MAX_BAD_LINES, DEFAULT_MAX_BAD_LINES);
    // parts each under the cap can still pass it together (ids repeated across parts count too)
    if (bad > maxBad) return this.reject(tooManyBadLines(maxBad).message);
    if (done === b.parts) {
      // One assembly at a time: reports that arrive meanwhile wait for it instead of starting another.
      this.assembling ??= this.assemble(b).finally(() => {
        this.assembling = undefined;
      });
      await this.assembling;
    }
    return this.status();
  }

  /**
   * The caller ids of parts' valid rows, reported by the scan in file order (scan.ts): the first
   * row to claim an id keeps it, every later row with it is a duplicate. A part reported again (a
   * re-delivered notification, a resumed scan) changes nothing.
   */
  claimIds(parts: readonly { part: number; ids: readonly { id: string; line: number }[] }[]): void {
    this.tables.create();
    claimIdsOf(this.sql, parts);
  }

  /** Parts whose ids are claimed already (a scan resumed after a failure skips them). */
  scannedParts(): number[] {
    if (!this.tables.exists()) return [];
    return this.sql
      .exec<{ part: number }>('SELECT part FROM scanned ORDER BY part')
      .toArray()
      .map((r) => r.part);
  }

  /** Lines of `part` whose id an earlier row of the file claimed: errors, never predicted. */
  duplicateLines(part: number): number[] {
    if (!this.tables.exists()) return [];
    return this.sql
      .exec<{ line: number }>('SELECT line FROM duplicates WHERE part = ? ORDER BY line', part)
      .toArray()
      .map((r) => r.line);
  }

  /** The last error of a part, kept so the dead-letter consumer can say why the batch failed. */
  partFailed(part: number, attempts: number, reason: string): void {
    this.tables.create();
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
    this.tables.create();
    if (!this.row() && plan) this.plan(plan);
    const last =
      part === null
        ? undefined
        : this.sql
            .exec<{ last_error: string | null }>('SELECT last_error FROM parts WHERE part = ?', part)
            .toArray()[0];
    return this.reject(`part ${part ?? 0} dead-lettered: ${last?.last_error ?? fallback}`);
  }

  /** Fails the batch with `reason` as it stands (a file that can never succeed); a finished batch stays finished. */
  reject(reason: string, plan?: BatchPlan): BatchStatus | null {
    this.tables.create();
    if (!this.row() && plan) this.plan(plan);
    this.sql.exec(
      "UPDATE batch SET state = 'failed', failure = ?, updated_at = ? WHERE state NOT IN ('done', 'failed')",
      reason.slice(0, 1000),
      new Date().toISOString(),
    );
    return this.status();
  }

  private touch(): void {
    this.sql.exec('UPDATE batch SET updated_at = ?', new Date().toISOString());
  }

  private async assemble(b: BatchRow): Promise<void> {
    this.sql.exec("UPDATE batch SET state = 'assembling'");
    const parts = this.sql.exec<{ part: number; lines: number }>('SELECT part, lines FROM parts ORDER BY part');
    const counts = await assembleBatch(this.store, batchObjectsFromEnv(this.env), b.id, parts.toArray());
    this.sql.exec(
      "UPDATE batch SET state = 'done', lines = ?, ok = ?, errors = ?, updated_at = ?",
      counts.lines,
      counts.ok,
      counts.errors,
      new Date().toISOString(),
    );
  }
}
