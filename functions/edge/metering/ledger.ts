/**
 * A meter's SQLite tables: the key's configuration (one row) and the ledger, one row per charge,
 * refund or credit. The balance is derived from the ledger (summed once, then kept in step with
 * every row this instance writes: a Durable Object is the only writer of its own storage).
 */
import type { DailyAggregate, HourlyAggregate } from '../../../lib/metering';
import type { Scope } from '../../../lib/schema';
import { LazySchema } from '../lazy-schema';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL, key_hash TEXT NOT NULL,
  scopes TEXT NOT NULL, ensembles TEXT, rate_requests INTEGER NOT NULL, rate_window INTEGER NOT NULL,
  metered INTEGER NOT NULL, revoked_ms INTEGER);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  ensemble TEXT NOT NULL, milli INTEGER NOT NULL, requests INTEGER NOT NULL, ref TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS ledger_at ON ledger (at_ms);`;

export interface MeterConfig {
  keyId: string;
  keyHash: string;
  scopes: Scope[];
  ensembles: string[] | null;
  rate: { requests: number; windowSeconds: number };
  metered: boolean;
  revokedMs: number | null;
}

type ConfigRow = {
  key_id: string;
  key_hash: string;
  scopes: string;
  ensembles: string | null;
  rate_requests: number;
  rate_window: number;
  metered: number;
  revoked_ms: number | null;
};

export interface Entry {
  atMs: number;
  kind: 'credit' | 'predict' | 'batch' | 'job';
  ensemble: string;
  /** milli-units: what was charged (negative for a refund) or added (credits) */
  milli: number;
  requests: number;
  ref: string | null;
}

export class Ledger {
  private balance: number | null = null;
  private cached: MeterConfig | null | undefined;
  /** made by the first write: a meter reached with a key nobody issued, or an anonymous client's (its bucket lives in memory), stores nothing */
  private readonly tables: LazySchema;

  constructor(private readonly sql: SqlStorage) {
    this.tables = new LazySchema(sql, SCHEMA, 'ledger');
  }

  config(): MeterConfig | null {
    if (this.cached !== undefined) return this.cached;
    if (!this.tables.exists()) return null;
    const r = this.sql.exec<ConfigRow>('SELECT * FROM config WHERE id = 1').toArray()[0];
    this.cached = r
      ? {
          keyId: r.key_id,
          keyHash: r.key_hash,
          scopes: JSON.parse(r.scopes) as Scope[],
          ensembles: r.ensembles === null ? null : (JSON.parse(r.ensembles) as string[]),
          rate: { requests: r.rate_requests, windowSeconds: r.rate_window },
          metered: r.metered === 1,
          revokedMs: r.revoked_ms,
        }
      : null;
    return this.cached;
  }

  setConfig(c: MeterConfig): void {
    this.tables.create();
    const ensembles = c.ensembles === null ? null : JSON.stringify(c.ensembles);
    this.sql.exec(
      'INSERT OR REPLACE INTO config VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)',
      ...[c.keyId, c.keyHash, JSON.stringify(c.scopes), ensembles, c.rate.requests, c.rate.windowSeconds],
      c.metered ? 1 : 0,
      c.revokedMs,
    );
    this.cached = undefined;
  }

  /** Credits minus net usage, in milli-units. */
  remaining(): number {
    if (!this.tables.exists()) return 0;
    this.balance ??= this.sql
      .exec<{ left: number }>(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'credit' THEN milli ELSE -milli END), 0) AS left FROM ledger",
      )
      .one().left;
    return this.balance;
  }

  /**
   * Books a hold as a charge of the most the work can cost (kind `predict`, one request), before
   * the work starts: a settlement that never arrives leaves the full charge, never none. Answers
   * the row's seq, which is the reservation (AUTOINCREMENT never reuses one, across restarts too).
   */
  hold(atMs: number, ensemble: string, milli: number): number {
    const seq = this.append({ atMs, kind: 'predict', ensemble, milli, requests: 1, ref: null });
    if (seq === null) throw new Error('a hold without a new ledger row');
    return seq;
  }

  /**
   * Gives back what the hold `seq` charged beyond what the work used: one row, negative, dated
   * like the hold (so a day's or an hour's net never goes below zero) and keyed `refund:<seq>`,
   * so a settlement delivered twice, or a release after it, refunds once. Answers whether it
   * refunded.
   */
  refund(seq: number, usedMilli: number, usedRequests: number): boolean {
    if (!this.tables.exists()) return false;
    const hold = this.sql
      .exec<{ at_ms: number; ensemble: string; milli: number; requests: number }>(
        "SELECT at_ms, ensemble, milli, requests FROM ledger WHERE seq = ? AND kind = 'predict' AND ref IS NULL",
        seq,
      )
      .toArray()[0];
    if (!hold) return false;
    const milli = -(hold.milli - Math.min(hold.milli, Math.max(0, usedMilli)));
    const requests = -(hold.requests - Math.min(hold.requests, Math.max(0, usedRequests)));
    const row = { atMs: hold.at_ms, kind: 'predict' as const, ensemble: hold.ensemble, milli, requests };
    return this.append({ ...row, ref: `refund:${seq}` }) !== null;
  }

  /** Appends a row (ignored when its `ref` is already there); answers its seq, or null when ignored. */
  append(e: Entry): number | null {
    const seq = this.insert(e);
    if (seq !== null && this.balance !== null) this.balance += e.kind === 'credit' ? e.milli : -e.milli;
    return seq;
  }

  private insert(e: Entry): number | null {
    this.tables.create();
    // RETURNING answers a row only when one was inserted (rowsWritten counts an ignored one too)
    const row = this.sql
      .exec<{ seq: number }>(
        'INSERT INTO ledger (at_ms, kind, ensemble, milli, requests, ref) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq',
        ...[e.atMs, e.kind, e.ensemble, e.milli, e.requests, e.ref],
      )
      .toArray()[0];
    return row?.seq ?? null;
  }

  byRef(ref: string): number | null {
    if (!this.tables.exists()) return null;
    return this.sql.exec<{ seq: number }>('SELECT seq FROM ledger WHERE ref = ?', ref).toArray()[0]?.seq ?? null;
  }

  /** Net milli-units and requests per UTC day and ensemble in [fromMs, toMs). */
  daily(fromMs: number, toMs: number): DailyAggregate[] {
    if (!this.tables.exists()) return [];
    return this.sql
      .exec<{ day: string; ensemble: string; milli: number; requests: number }>(
        `SELECT strftime('%Y-%m-%d', at_ms / 1000, 'unixepoch') AS day, ensemble, SUM(milli) AS milli,
         SUM(requests) AS requests FROM ledger WHERE kind != 'credit' AND at_ms >= ? AND at_ms < ? GROUP BY day, ensemble`,
        fromMs,
        toMs,
      )
      .toArray()
      .map((r) => ({ ...r }));
  }

  /** Net milli-units per hour in [fromMs, toMs). */
  hourly(fromMs: number, toMs: number): HourlyAggregate[] {
    if (!this.tables.exists()) return [];
    return this.sql
      .exec<{ hourMs: number; milli: number }>(
        `SELECT (at_ms / 3600000) * 3600000 AS hourMs, SUM(milli) AS milli FROM ledger
         WHERE kind != 'credit' AND at_ms >= ? AND at_ms < ? GROUP BY hourMs`,
        fromMs,
        toMs,
      )
      .toArray()
      .map((r) => ({ ...r }));
  }
}
