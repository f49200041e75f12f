/** What a key's meter is told and answers (functions/edge/metering/key-meter.ts). */
import type { BucketPolicy } from '../../../lib/metering';
import type { Scope } from '../../../lib/schema';
import type { Owed } from './owed';

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
      remainingMilli: number | null;
      /** the hold asked for with `holdUnits` (see reserve) */
      hold?: { reservation: number; units: number; remainingUnits: number | null };
      headers: Record<string, string>;
    }
  | {
      ok: false;
      status: 401 | 402 | 403 | 429;
      reason: string;
      headers: Record<string, string>;
      /** 402: the units the key has left */
      remainingUnits?: number;
    };

/** One admission: who (the key's hash), for what, the most the work can cost, and what the isolate owes. */
export interface AdmitRequest {
  keyHash: string;
  scope: Scope | 'any';
  ensemble?: string | undefined;
  /** units to hold against the budget for the work this admits */
  holdUnits?: number | undefined;
  /** settlements of earlier requests, applied before this one is admitted (owed.ts) */
  owed?: Owed[];
  nowMs?: number;
}
