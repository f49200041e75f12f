import type { Context } from 'hono';
import { refundUnits } from '../../../lib/metering';
import { principalOf, REMAINING_HEADER } from '../auth';
import type { AppEnv } from '../context';
import { ApiError } from '../problem';
import { meterOf } from './service';

/**
 * Runs `work` under the caller's meter: charges the most it can cost before it starts (402 when
 * the prepaid units do not cover it), then refunds what did not run (a cascade that stopped
 * early, abstentions) or everything when the work fails. Callers without a key (bootstrap admin,
 * signed container requests, anonymous public calls) are not metered.
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
  const charge = await meter.charge({ kind: 'predict', ensemble, units: maxUnits });
  if (!charge.ok) {
    c.header(REMAINING_HEADER, String(charge.remainingUnits));
    throw new ApiError(
      402,
      'budget_exhausted',
      `this request can cost ${maxUnits} units; the key has ${charge.remainingUnits} left`,
      { remaining_units: charge.remainingUnits, required_units: maxUnits },
    );
  }
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await meter.refund(charge.chargeId, maxUnits);
    throw err;
  }
  const refund = refundUnits(maxUnits, result.usage.units);
  const remaining = refund > 0 ? await meter.refund(charge.chargeId, refund) : charge.remainingUnits;
  if (remaining !== null) c.header(REMAINING_HEADER, String(remaining));
  return result;
}
