/**
 * Usage units. A prediction costs Σ costUnits of the members that ran and answered, per input
 * (nothing for an input the prior answered); the edge charges the most it can cost before the
 * work and refunds what a cascade or an abstention did not run. Ledgers keep milli-units as
 * integers so every sum (per day, per hour, per key) is exact.
 */
export interface CostedMember {
  costUnits: number;
}

/** The most a prediction of `inputs` inputs can cost: every member runs for every input. */
export const maxUnits = (members: readonly CostedMember[], inputs: number): number =>
  members.reduce((s, m) => s + m.costUnits, 0) * inputs;

/** What to give back once the work is done (never negative, never more than was charged). */
export const refundUnits = (charged: number, used: number): number => Math.min(charged, Math.max(0, charged - used));

/** Units → integer milli-units, the ledger's unit. */
export const toMilli = (units: number): number => Math.round(units * 1000);

/** Integer milli-units → units. */
export const fromMilli = (milli: number): number => milli / 1000;

/** Integer milli-units as an exact decimal string (`7`, `7.5`, `0.125`), as billing payloads want. */
export function formatMilli(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(milli));
  const whole = Math.floor(abs / 1000);
  const frac = String(abs % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}
