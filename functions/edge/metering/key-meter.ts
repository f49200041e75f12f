import { DurableObject } from 'cloudflare:workers';
import {
  authorize,
  type BucketPolicy,
  type BucketState,
  type ChargeRequest,
  type ChargeResult,
  type DailyAggregate,
  type HourlyAggregate,
  type Reservation,
  rateLimitHeaders,
  type Settlement,
  type Take,
  take,
  timingSafeEqual,
  toMilli,
} from '../../../lib/metering';
import type { EdgeEnv } from '../env';
import { Ledger } from './ledger';
import type { Owed } from './owed';
import type { Admission, AdmitRequest, KeyMeterConfig } from './types';

export type { Admission, AdmitRequest, KeyMeterConfig } from './types';

const unitsOf = (milli: number): number => milli / 1000;

/**
 * One key's meter (named by the key's SHA-256) or one anonymous client's rate limit (named
 * `client:<ip>`). Every method runs its SQL synchronously, without awaiting in between, so a
 * check and the charge that follows it are atomic: no two requests can spend the same units.
 * Every hold, refund, counted charge and credit is a ledger row; the balance is derived from them.
 */
export class KeyMeter extends DurableObject<EdgeEnv> {
  private readonly ledger: Ledger;
  private bucket: BucketState | null = null;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.ledger = new Ledger(ctx.storage.sql);
  }

  init(c: KeyMeterConfig): void {
    const { budgetUnits, ...rest } = c;
    this.ledger.setConfig({ ...rest, metered: budgetUnits !== null, revokedMs: null });
    if (budgetUnits !== null) this.addCredit(budgetUnits);
  }

  revoke(atMs: number): void {
    const config = this.ledger.config();
    if (config && config.revokedMs === null) this.ledger.setConfig({ ...config, revokedMs: atMs });
  }

  /** Adds prepaid units (a ledger row); answers the units left. */
  addCredit(units: number): number {
    this.ledger.append({
      atMs: Date.now(),
      kind: 'credit',
      ensemble: '',
      milli: toMilli(units),
      requests: 0,
      ref: null,
    });
    return unitsOf(this.ledger.remaining());
  }

  /**
   * Settle what the isolate owes (earlier requests' holds and usage), then authenticate (hash),
   * authorize (scope, ensemble), take a rate-limit token and, with `holdUnits`, reserve them: the
   * one call on a request's path.
   */
  admit({ keyHash, scope, ensemble, holdUnits, owed, nowMs = Date.now() }: AdmitRequest): Admission {
    if (owed) this.settleAll(owed);
    const config = this.ledger.config();
    if (!config || !timingSafeEqual(config.keyHash, keyHash)) {
      return { ok: false, status: 401, reason: 'unknown API key', headers: {} };
    }
    if (config.revokedMs !== null) return { ok: false, status: 401, reason: 'the API key was revoked', headers: {} };
    const decision = scope === 'any' ? ({ ok: true } as const) : authorize(config, scope, ensemble);
    if (!decision.ok) return { ok: false, status: 403, reason: decision.reason, headers: {} };
    const taken = this.takeToken(config.rate, nowMs);
    const headers = rateLimitHeaders(config.rate, taken);
    if (!taken.allowed) return { ok: false, status: 429, reason: 'rate limit exceeded', headers };
    const base = { ok: true as const, keyId: config.keyId, scopes: config.scopes, headers };
    if (holdUnits === undefined) return { ...base, remainingMilli: this.available() };
    const hold = this.reserve(holdUnits, ensemble ?? '', nowMs);
    if (!hold.ok) {
      const { remainingUnits } = hold;
      return { ok: false, status: 402, reason: `${remainingUnits} units left`, headers, remainingUnits };
    }
    const { reservation, remainingUnits } = hold;
    return { ...base, remainingMilli: this.available(), hold: { reservation, units: holdUnits, remainingUnits } };
  }

  /** An anonymous client of a public ensemble: its rate limit only. */
  admitClient(policy: BucketPolicy, nowMs = Date.now()): { allowed: boolean; headers: Record<string, string> } {
    const taken = this.takeToken(policy, nowMs);
    return { allowed: taken.allowed, headers: rateLimitHeaders(policy, taken) };
  }

  /** Units left to spend (holds of work in flight are already charged); null without a budget. */
  private available(): number | null {
    return this.ledger.config()?.metered ? this.ledger.remaining() : null;
  }

  /**
   * Holds the most the work can cost, atomically with the budget check, before it starts: the
   * hold is a ledger row charging all of it (written in this call, before the answer leaves), so
   * work served is charged even when its settlement is lost with an isolate or this meter
   * restarts; the settlement can only give back the part not used, once (ledger.ts `refund`).
   */
  reserve(units: number, ensemble: string, nowMs = Date.now()): Reservation {
    const milli = toMilli(units);
    const available = this.available();
    if (available !== null && available < milli) {
      return { ok: false, code: 'budget_exhausted', remainingUnits: unitsOf(Math.max(0, available)) };
    }
    const reservation = this.ledger.hold(nowMs, ensemble, milli);
    return { ok: true, reservation, remainingUnits: available === null ? null : unitsOf(available - milli) };
  }

  /** Refunds a hold whose work never started (request and units); answers whether it refunded. */
  release(reservation: number): boolean {
    return this.ledger.refund(reservation, 0, 0);
  }

  /**
   * Refunds what the work did not use (a cascade stopped early, an abstention, a failure). Keyed
   * by the reservation, so a settlement sent twice, or a release after it, refunds once.
   */
  settle(reservation: number, used: Settlement): void {
    this.ledger.refund(reservation, toMilli(used.units), used.requests);
  }

  /** What an isolate owed (owed.ts): releases, and settlements of work done. */
  settleAll(owed: readonly Owed[]): void {
    for (const o of owed) {
      if (o.used) this.settle(o.reservation, o.used);
      else this.release(o.reservation);
    }
  }

  /** Charges counted work; a repeated `ref` is answered with the first charge, not counted again. */
  charge(request: ChargeRequest): ChargeResult {
    const left = (): number | null => {
      const available = this.available();
      return available === null ? null : unitsOf(available);
    };
    const seen = request.ref === undefined ? null : this.ledger.byRef(request.ref);
    if (seen !== null) return { ok: true, chargeId: seen, duplicate: true, remainingUnits: left() };
    const milli = toMilli(request.units);
    const available = this.available();
    if (available !== null && available < milli && !request.overdraft) {
      return { ok: false, code: 'budget_exhausted', remainingUnits: unitsOf(available) };
    }
    const requests = request.kind === 'predict' ? 1 : Math.max(0, Math.round(request.rows ?? 0));
    const { kind, ensemble } = request;
    const chargeId = this.ledger.append({
      atMs: Date.now(),
      kind,
      ensemble,
      milli,
      requests,
      ref: request.ref ?? null,
    });
    if (chargeId === null) throw new Error('a charge without a new ledger row');
    return { ok: true, chargeId, duplicate: false, remainingUnits: left() };
  }

  /** Net milli-units and requests per UTC day and ensemble, days in [fromMs, toMs), after what is `owed`. */
  daily(
    fromMs: number,
    toMs: number,
    owed: readonly Owed[] = [],
  ): { remainingMilli: number | null; rows: DailyAggregate[] } {
    this.settleAll(owed);
    return { remainingMilli: this.available(), rows: this.ledger.daily(fromMs, toMs) };
  }

  /** Net milli-units per hour in [fromMs, toMs). */
  hourly(fromMs: number, toMs: number): HourlyAggregate[] {
    return this.ledger.hourly(fromMs, toMs);
  }

  /**
   * The token bucket lives in memory: a write per request would wait for the storage commit (the
   * output gate), and a meter evicted from memory only starts again from a full bucket, one burst.
   */
  private takeToken(policy: BucketPolicy, nowMs: number): Take {
    const taken = take(this.bucket, policy, nowMs);
    this.bucket = taken.state;
    return taken;
  }
}
