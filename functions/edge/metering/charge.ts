import type { Context } from 'hono';
import { principalOf, REMAINING_HEADER } from '../auth';
import type { AppEnv } from '../context';
import { ApiError } from '../problem';
import { meterOf } from './service';

/**
 * Runs `work` under the caller's meter: holds the most it can cost before it starts (402 when
 * the prepaid units do not cover it), then settles what it used — what a cascade stopped early or
 * an abstention skipped is never charged, and a failure costs nothing. The settlement (the ledger
 * row) is written after the answer is sent. Callers without a key (bootstrap admin, signed
 * container requests, anonymous public calls) are not metered.
 */
export async function metered<T extends { usage: { units: number } }>(
  c: Context<AppEnv>,
  ensemble: string,
  maxUnits: number,
  work: () => Promise<T>,
): Promise<T> {
  const principal = principalOf(c);
  // `return await`: a promise that is already rejected must have its handler attached now (workerd reports it otherwise)
  if (principal?.kind !== 'key') return await work();
  const meter = meterOf(c.env, principal.keyHash);
  const hold = await meter.reserve(maxUnits);
  if (!hold.ok) {
    c.header(REMAINING_HEADER, String(hold.remainingUnits));
    throw new ApiError(
      402,
      'budget_exhausted',
      `this request can cost ${maxUnits} units; the key has ${hold.remainingUnits} left`,
      { remaining_units: hold.remainingUnits, required_units: maxUnits },
    );
  }
  let used = 0;
  try {
    const result = await work();
    used = Math.min(maxUnits, result.usage.units);
    if (hold.remainingUnits !== null) c.header(REMAINING_HEADER, String(hold.remainingUnits + maxUnits - used));
    return result;
  } finally {
    c.executionCtx.waitUntil(meter.settle(hold.reservation, { kind: 'predict', ensemble, units: used, requests: 1 }));
  }
}
