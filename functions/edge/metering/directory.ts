import { DurableObject } from 'cloudflare:workers';
import type { KeyInfo, Scope } from '../../../lib/schema';
import type { EdgeEnv } from '../env';

/** A key as the directory holds it: its hash and display prefix, never the key. */
export interface KeyRecord {
  id: string;
  hash: string;
  prefix: string;
  name: string;
  customer: string;
  scopes: Scope[];
  ensembles: string[] | null;
  rate: { requests: number; windowSeconds: number };
  metered: boolean;
  createdMs: number;
  revokedMs: number | null;
}

type Row = {
  id: string;
  hash: string;
  prefix: string;
  name: string;
  customer: string;
  scopes: string;
  ensembles: string | null;
  rate_requests: number;
  rate_window: number;
  metered: number;
  created_ms: number;
  revoked_ms: number | null;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, name TEXT NOT NULL,
  customer TEXT NOT NULL, scopes TEXT NOT NULL, ensembles TEXT, rate_requests INTEGER NOT NULL, rate_window INTEGER NOT NULL,
  metered INTEGER NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
CREATE TABLE IF NOT EXISTS public_ensembles (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, submitted_ms INTEGER NOT NULL,
  closed_ms INTEGER);`;

/** Who submitted a job, and whether its compute time is settled (charged, or closed uncharged). */
export interface JobOwner {
  keyId: string;
  closedMs: number | null;
}

const recordOf = (r: Row): KeyRecord => ({
  id: r.id,
  hash: r.hash,
  prefix: r.prefix,
  name: r.name,
  customer: r.customer,
  scopes: JSON.parse(r.scopes) as Scope[],
  ensembles: r.ensembles === null ? null : (JSON.parse(r.ensembles) as string[]),
  rate: { requests: r.rate_requests, windowSeconds: r.rate_window },
  metered: r.metered === 1,
  createdMs: r.created_ms,
  revokedMs: r.revoked_ms,
});

/** The public view of a key record (what admin routes answer). */
export const keyInfo = (k: KeyRecord): KeyInfo => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  ensembles: k.ensembles,
  rate_limit: { requests: k.rate.requests, window_seconds: k.rate.windowSeconds },
  metered_budget: k.metered,
  customer: k.customer,
  created_at: new Date(k.createdMs).toISOString(),
  revoked_at: k.revokedMs === null ? null : new Date(k.revokedMs).toISOString(),
});

/**
 * The list of keys (one instance, `directory`) for the admin routes and exports, and which
 * ensembles are public. Requests never pass through it: a key's own meter authenticates it.
 */
export class KeyDirectory extends DurableObject<EdgeEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  add(k: KeyRecord): void {
    this.sql.exec(
      'INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)',
      k.id,
      k.hash,
      k.prefix,
      k.name,
      k.customer,
      JSON.stringify(k.scopes),
      k.ensembles === null ? null : JSON.stringify(k.ensembles),
      k.rate.requests,
      k.rate.windowSeconds,
      k.metered ? 1 : 0,
      k.createdMs,
    );
  }

  list(): KeyRecord[] {
    return this.sql.exec<Row>('SELECT * FROM keys ORDER BY created_ms, id').toArray().map(recordOf);
  }

  get(id: string): KeyRecord | null {
    const row = this.sql.exec<Row>('SELECT * FROM keys WHERE id = ?', id).toArray()[0];
    return row ? recordOf(row) : null;
  }

  /** Marks the key revoked (the first time only) and answers its record. */
  revoke(id: string, atMs: number): KeyRecord | null {
    this.sql.exec('UPDATE keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL', atMs, id);
    return this.get(id);
  }

  setPublic(name: string, isPublic: boolean): void {
    if (isPublic) this.sql.exec('INSERT OR IGNORE INTO public_ensembles VALUES (?)', name);
    else this.sql.exec('DELETE FROM public_ensembles WHERE name = ?', name);
  }

  isPublic(name: string): boolean {
    return this.sql.exec('SELECT 1 FROM public_ensembles WHERE name = ?', name).toArray().length > 0;
  }

  /** Records the key that submitted a job (metering/jobs.ts charges it when the job finishes). */
  recordJob(id: string, keyId: string, atMs: number): void {
    this.sql.exec('INSERT OR IGNORE INTO jobs VALUES (?, ?, ?, NULL)', id, keyId, atMs);
  }

  jobOwner(id: string): JobOwner | null {
    const row = this.sql
      .exec<{ key_id: string; closed_ms: number | null }>('SELECT key_id, closed_ms FROM jobs WHERE id = ?', id)
      .toArray()[0];
    return row ? { keyId: row.key_id, closedMs: row.closed_ms } : null;
  }

  closeJob(id: string, atMs: number): void {
    this.sql.exec('UPDATE jobs SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL', atMs, id);
  }

  /** Jobs not settled yet, oldest first (the cron looks at their status). */
  openJobs(limit: number): { id: string; submittedMs: number }[] {
    return this.sql
      .exec<{ id: string; submitted_ms: number }>(
        'SELECT id, submitted_ms FROM jobs WHERE closed_ms IS NULL ORDER BY submitted_ms LIMIT ?',
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, submittedMs: r.submitted_ms }));
  }

  publicEnsembles(): string[] {
    return this.sql
      .exec<{ name: string }>('SELECT name FROM public_ensembles ORDER BY name')
      .toArray()
      .map((r) => r.name);
  }
}
