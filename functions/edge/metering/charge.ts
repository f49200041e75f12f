import type { Context } from 'hono';
import { maxUnits } from '../../../lib/metering';
import { isEnsembleName, MAX_PREDICT_INPUTS } from '../../../lib/schema';
import { principalOf, REMAINING_HEADER } from '../auth';
import type { AppEnv } from '../context';
import { ApiError } from '../problem';
import { oweLater } from './owed';
import { meterOf } from './service';

/**
 * Runs `work` under the caller's meter: holds the most it can cost before it starts (402 when
 * the prepaid units do not cover it), then settles what it used — what a cascade stopped early or
 * an abstention skipped is refunded, and a failure costs nothing. The hold is charged at the meter
 * before the work; the settlement (the refund) reaches it after the answer is sent, with the key's
 * next call (owed.ts), so a lost one leaves the full hold charged. Callers without a key
 * (bootstrap admin, signed container requests, anonymous public calls) are not metered.
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
  // the hold taken at admission, when it covers this work; otherwise one taken now
  const taken = principal.hold?.units === maxUnits ? principal.hold : undefined;
  if (principal.hold && !taken) {
    c.executionCtx.waitUntil(oweLater(principal.keyHash, { reservation: principal.hold.reservation }, meter));
  }
  principal.hold = undefined;
  const hold = taken ? { ok: true as const, ...taken } : await meter.reserve(maxUnits, ensemble);
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
    // owed to the meter: sent with the key's next call, or on its own a moment later (owed.ts)
    const settlement = { kind: 'predict' as const, ensemble, units: used, requests: 1 };
    c.executionCtx.waitUntil(oweLater(principal.keyHash, { reservation: hold.reservation, used: settlement }, meter));
  }
}

/**
 * The most a predict can cost, for the hold at admission: read from the number of inputs alone,
 * not by validating the body, so a request with a key nobody issued, or with a spent budget, is
 * answered before any validation work (the route validates once, after admission; a hold whose
 * request then fails validation is given back). Undefined when the body or the ensemble cannot
 * tell (a raw message, a malformed body): the handler then reserves after validation.
 */
export async function predictHold(c: Context<AppEnv>): Promise<number | undefined> {
  try {
    const name = c.req.param('name') ?? '';
    const inputs = inputCount(await c.req.json());
    if (inputs === undefined || !isEnsembleName(name)) return undefined;
    const manifest = await c.var.runtime.manifests.manifest(name);
    return maxUnits(manifest.members, inputs);
  } catch {
    return undefined;
  }
}

/** `inputs.length` of a predict body within the schema's bounds, without looking inside the inputs. */
function inputCount(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || !('inputs' in body)) return undefined;
  const { inputs } = body;
  return Array.isArray(inputs) && inputs.length >= 1 && inputs.length <= MAX_PREDICT_INPUTS ? inputs.length : undefined;
}
