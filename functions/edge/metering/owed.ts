/**
 * Settlements this isolate owes the keys' meters. A finished predict does not call its meter on
 * its own: what it owes (the hold to release, the units it used) rides on the key's next call
 * from this isolate — the next admission or usage read — so a busy key costs one Durable Object
 * call per request, not two. A key that goes quiet is settled by the timer `oweLater` starts.
 * Until then the hold stays charged at the meter: unused units come back late, never twice, and a
 * hold whose settlement is lost with the isolate stays charged in full (key-meter.ts `reserve`).
 */
import type { Settlement } from '../../../lib/metering';

/** A hold to release, or with `used`, to settle: what the work used stays charged, the rest is refunded. */
export interface Owed {
  reservation: number;
  used?: Settlement;
}

/** How long a settlement may wait for the key's next call before it is sent on its own. */
export const SETTLE_AFTER_MS = 1000;

const owed = new Map<string, Owed[]>();

/** Everything owed to `keyHash`'s meter, removed from here: the caller sends it (or gives it back). */
export function takeOwed(keyHash: string): Owed[] {
  const items = owed.get(keyHash) ?? [];
  owed.delete(keyHash);
  return items;
}

/** Puts items back (the call that carried them failed before the meter answered). */
export function giveBack(keyHash: string, items: readonly Owed[]): void {
  if (items.length === 0) return;
  const list = owed.get(keyHash);
  if (list) list.push(...items);
  else owed.set(keyHash, [...items]);
}

/**
 * Records what `keyHash` owes and answers a promise for `waitUntil` that sends it, and anything
 * else owed by then, after SETTLE_AFTER_MS unless a call of the key has carried it first.
 */
export function oweLater(
  keyHash: string,
  item: Owed,
  meter: { settleAll(items: Owed[]): Promise<unknown> },
): Promise<void> {
  giveBack(keyHash, [item]);
  return new Promise<void>((resolve) => setTimeout(resolve, SETTLE_AFTER_MS)).then(async () => {
    const items = takeOwed(keyHash);
    if (items.length === 0) return;
    try {
      await meter.settleAll(items);
    } catch (err) {
      giveBack(keyHash, items);
      throw err;
    }
  });
}

/** Runs a meter call carrying what `keyHash` owes; on failure the items are owed again. */
export async function carrying<T>(keyHash: string, call: (items: Owed[]) => Promise<T>): Promise<T> {
  const items = takeOwed(keyHash);
  try {
    return await call(items);
  } catch (err) {
    giveBack(keyHash, items);
    throw err;
  }
}
