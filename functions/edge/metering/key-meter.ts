import { DurableObject } from 'cloudflare:workers';
import {
  authorize,
  type BucketPolicy,
  type ChargeRequest,
  type ChargeResult,
  type DailyAggregate,
  type HourlyAggregate,
  rateLimitHeaders,
  type Take,
  take,
  timingSafeEqual,
  toMilli,
} from '../../../lib/metering';
import type { Scope } from '../../../lib/schema';
import type { EdgeEnv } from '../env';

/** What the key's meter is told at creation. The key itself never reaches it: only its hash. */
export interface KeyMeterConfig {
  keyId: string;
  keyHash: string;
  scopes: Scope[];
  ensembles: string[] | null;
  rate: BucketPolicy;
  /** prepaid units, or null for a key without a budget */
  budgetUnits: number | null;
}

export type Admission =
  | {
      ok: true;
      keyId: string;
      scopes: Scope[];
      ensembles: string[] | null;
      remainingMilli: number | null;
      headers: Record<string, string>;
    }
  | { ok: false; status: 401 | 403 | 429; reason: string; headers: Record<string, string> };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL, key_hash TEXT NOT NULL,
  scopes TEXT NOT NULL, ensembles TEXT, rate_requests INTEGER NOT NULL, rate_window INTEGER NOT NULL,
  metered INTEGER NOT NULL, revoked_ms INTEGER);
CREATE TABLE IF NOT EXISTS bucket (id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  ensemble TEXT NOT NULL, milli INTEGER NOT NULL, requests INTEGER NOT NULL, ref TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS ledger_at ON ledger (at_ms);`;

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

/**
 * One key's meter (named by the key's SHA-256) or one anonymous client's rate limit (named
 * `client:<ip>`). Every method runs its SQL synchronously, without awaiting in between, so a
 * check and the charge that follows it are atomic: no two requests can spend the same units.
 * Every charge, refund and credit is a ledger row; the balance is derived from them.
 */
export class KeyMeter extends DurableObject<EdgeEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  init(config: KeyMeterConfig): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO config VALUES (1, ?, ?, ?, ?, ?, ?, ?, NULL)',
      config.keyId,
      config.keyHash,
      JSON.stringify(config.scopes),
      config.ensembles === null ? null : JSON.stringify(config.ensembles),
      config.rate.requests,
      config.rate.windowSeconds,
      config.budgetUnits === null ? 0 : 1,
    );
    if (config.budgetUnits !== null) this.addCredit(config.budgetUnits);
  }

  revoke(atMs: number): void {
    this.sql.exec('UPDATE config SET revoked_ms = ? WHERE revoked_ms IS NULL', atMs);
  }

  /** Adds prepaid units (a ledger row); answers the units left. */
  addCredit(units: number): number {
    this.sql.exec(
      "INSERT INTO ledger (at_ms, kind, ensemble, milli, requests) VALUES (?, 'credit', '', ?, 0)",
      Date.now(),
      toMilli(units),
    );
    return unitsOf(this.remaining());
  }

  /** Authenticate (hash), authorize (scope, ensemble) and take a rate-limit token, in one step. */
  admit(keyHash: string, scope: Scope | 'any', ensemble: string | undefined, nowMs = Date.now()): Admission {
    const config = this.config();
    if (!config || !timingSafeEqual(config.key_hash, keyHash))
      return { ok: false, status: 401, reason: 'unknown API key', headers: {} };
    if (config.revoked_ms !== null) return { ok: false, status: 401, reason: 'the API key was revoked', headers: {} };
    const grant = { scopes: JSON.parse(config.scopes) as Scope[], ensembles: parseList(config.ensembles) };
    const decision = scope === 'any' ? ({ ok: true } as const) : authorize(grant, scope, ensemble);
    if (!decision.ok) return { ok: false, status: 403, reason: decision.reason, headers: {} };
    const policy = { requests: config.rate_requests, windowSeconds: config.rate_window };
    const taken = this.takeToken(policy, nowMs);
    const headers = rateLimitHeaders(policy, taken);
    if (!taken.allowed) return { ok: false, status: 429, reason: 'rate limit exceeded', headers };
    return { ok: true, keyId: config.key_id, ...grant, remainingMilli: this.remaining(), headers };
  }

  /** An anonymous client of a public ensemble: its rate limit only. */
  admitClient(policy: BucketPolicy, nowMs = Date.now()): { allowed: boolean; headers: Record<string, string> } {
    const taken = this.takeToken(policy, nowMs);
    return { allowed: taken.allowed, headers: rateLimitHeaders(policy, taken) };
  }

  /** Charge before the work; a repeated `ref` is answered with the first charge, not counted again. */
  charge(request: ChargeRequest): ChargeResult {
    const config = this.config();
    const milli = toMilli(request.units);
    if (request.ref !== undefined) {
      const seen = this.sql.exec<{ seq: number }>('SELECT seq FROM ledger WHERE ref = ?', request.ref).toArray()[0];
      if (seen) {
        const left = config?.metered ? unitsOf(this.remaining()) : null;
        return { ok: true, chargeId: seen.seq, duplicate: true, remainingUnits: left };
      }
    }
    const remaining = config?.metered ? this.remaining() : null;
    if (remaining !== null && remaining < milli && !request.overdraft) {
      return { ok: false, code: 'budget_exhausted', remainingUnits: remaining / 1000 };
    }
    const requests = request.kind === 'predict' ? 1 : Math.max(0, Math.round(request.rows ?? 0));
    this.sql.exec(
      'INSERT INTO ledger (at_ms, kind, ensemble, milli, requests, ref) VALUES (?, ?, ?, ?, ?, ?)',
      Date.now(),
      request.kind,
      request.ensemble,
      milli,
      requests,
      request.ref ?? null,
    );
    const chargeId = this.sql.exec<{ id: number }>('SELECT last_insert_rowid() AS id').one().id;
    return {
      ok: true,
      chargeId,
      duplicate: false,
      remainingUnits: remaining === null ? null : (remaining - milli) / 1000,
    };
  }

  /** Gives back up to what charge `chargeId` took, once, booked in the charge's hour; answers the units left. */
  refund(chargeId: number, units: number): number | null {
    const row = this.sql
      .exec<{ at_ms: number; ensemble: string; milli: number }>(
        'SELECT at_ms, ensemble, milli FROM ledger WHERE seq = ?',
        chargeId,
      )
      .toArray()[0];
    const milli = Math.min(row?.milli ?? 0, toMilli(units));
    if (row && milli > 0) {
      this.sql.exec(
        "INSERT OR IGNORE INTO ledger (at_ms, kind, ensemble, milli, requests, ref) VALUES (?, 'refund', ?, ?, 0, ?)",
        row.at_ms,
        row.ensemble,
        -milli,
        `refund:${chargeId}`,
      );
    }
    return this.config()?.metered ? unitsOf(this.remaining()) : null;
  }

  /** Net milli-units and requests per UTC day and ensemble, days in [fromMs, toMs). */
  daily(fromMs: number, toMs: number): { remainingMilli: number | null; rows: DailyAggregate[] } {
    const rows = this.sql
      .exec<{ day: string; ensemble: string; milli: number; requests: number }>(
        `SELECT strftime('%Y-%m-%d', at_ms / 1000, 'unixepoch') AS day, ensemble, SUM(milli) AS milli, SUM(requests) AS requests
         FROM ledger WHERE kind != 'credit' AND at_ms >= ? AND at_ms < ? GROUP BY day, ensemble`,
        fromMs,
        toMs,
      )
      .toArray();
    return { remainingMilli: this.config()?.metered ? this.remaining() : null, rows: rows.map((r) => ({ ...r })) };
  }

  /** Net milli-units per hour in [fromMs, toMs). */
  hourly(fromMs: number, toMs: number): HourlyAggregate[] {
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

  private config(): ConfigRow | undefined {
    return this.sql.exec<ConfigRow>('SELECT * FROM config WHERE id = 1').toArray()[0];
  }

  /** Credits minus net usage, in milli-units. */
  private remaining(): number {
    return this.sql
      .exec<{ left: number }>(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'credit' THEN milli ELSE -milli END), 0) AS left FROM ledger",
      )
      .one().left;
  }

  private takeToken(policy: BucketPolicy, nowMs: number): Take {
    const row = this.sql
      .exec<{ tokens: number; updated_ms: number }>('SELECT tokens, updated_ms FROM bucket WHERE id = 1')
      .toArray()[0];
    const taken = take(row ? { tokens: row.tokens, updatedMs: row.updated_ms } : null, policy, nowMs);
    this.sql.exec('INSERT OR REPLACE INTO bucket VALUES (1, ?, ?)', taken.state.tokens, taken.state.updatedMs);
    return taken;
  }
}

const parseList = (s: string | null): string[] | null => (s === null ? null : (JSON.parse(s) as string[]));
const unitsOf = (milli: number): number => milli / 1000;
