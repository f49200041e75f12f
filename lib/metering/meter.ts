/**
 * The metering contracts the edge implements (a Durable Object per key) and other parts of
 * Chorus call. Charges are ledger rows with an idempotency reference; balances are derived.
 */

/** What a charge is for; each kind has its own unit of work. */
export type ChargeKind = 'predict' | 'batch' | 'job';

export interface ChargeRequest {
  kind: ChargeKind;
  /** the ensemble the work runs (usage is reported per ensemble) */
  ensemble: string;
  /** units to charge (the most the work can cost; refund the rest afterwards) */
  units: number;
  /** idempotency reference: a second charge with the same reference is not counted again */
  ref?: string;
  /** rows of a batch part (its requests in usage reports); a prediction counts one request */
  rows?: number;
  /** charge even past the budget (work already done, e.g. a counted batch part) */
  overdraft?: boolean;
}

export type ChargeResult =
  | { ok: true; chargeId: number; duplicate: boolean; remainingUnits: number | null }
  | { ok: false; code: 'budget_exhausted'; remainingUnits: number };

export type Reservation =
  | { ok: true; reservation: number; remainingUnits: number | null }
  | { ok: false; code: 'budget_exhausted'; remainingUnits: number };

/** What the work actually cost, once it is done (0 units when it failed). */
export interface Settlement {
  kind: ChargeKind;
  ensemble: string;
  units: number;
  requests: number;
}

/**
 * One key's meter. Online work reserves the most it can cost before it starts (atomic with the
 * budget check; the hold is itself a charge) and settles what it used afterwards (a refund of the
 * rest, once per reservation): what a cascade or abstention did not run is not charged, and a lost
 * settlement leaves the full hold charged, never nothing. Counted work (batch parts, jobs) is charged
 * directly, once per idempotency reference.
 */
export interface Meter {
  reserve(units: number, ensemble: string): Promise<Reservation>;
  settle(reservation: number, used: Settlement): Promise<void>;
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

/**
 * How batch processing reports work done: one call per part, after its rows are counted. The
 * pair (batchId, part) is the idempotency key, so a part delivered twice is charged once.
 */
export interface UsageSink {
  partCounted(
    keyId: string,
    batchId: string,
    part: number,
    rows: number,
    units: number,
    /** the ensemble the batch ran, for per-ensemble usage */
    ensemble?: string,
  ): Promise<ChargeResult>;
  /** a job's compute seconds, charged once per job id */
  jobFinished(keyId: string, jobId: string, ensemble: string, computeSeconds: number): Promise<ChargeResult>;
}

/** The idempotency reference of a batch part. */
export const batchPartRef = (batchId: string, part: number): string => `batch:${batchId}:${part}`;
/** The idempotency reference of a job's compute charge. */
export const jobRef = (jobId: string): string => `job:${jobId}`;
