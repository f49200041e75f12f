/**
 * Usage reports and billing exports, built from ledger aggregates. Ledgers count integer
 * milli-units, so the hourly export of a window sums exactly to the daily report of it.
 */
import type { MeterEvent, UsageResponse } from '../schema/metering';
import { formatMilli, fromMilli } from './units';

/** One (day, ensemble) aggregate of a key's ledger. */
export interface DailyAggregate {
  day: string;
  ensemble: string;
  milli: number;
  requests: number;
}

/** One hour of a key's ledger: its start (ms) and net milli-units. */
export interface HourlyAggregate {
  hourMs: number;
  milli: number;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The `/v1/usage` answer for one key. */
export function usageReport(
  keyId: string,
  remainingMilli: number | null,
  rows: readonly DailyAggregate[],
): UsageResponse {
  const days = [...rows]
    .sort((a, b) => a.day.localeCompare(b.day) || a.ensemble.localeCompare(b.ensemble))
    .map((r) => ({ day: r.day, ensemble: r.ensemble, units: fromMilli(r.milli), requests: r.requests }));
  const milli = rows.reduce((s, r) => s + r.milli, 0);
  const requests = rows.reduce((s, r) => s + r.requests, 0);
  return {
    key: keyId,
    remaining_units: remainingMilli === null ? null : fromMilli(remainingMilli),
    totals: { units: fromMilli(milli), requests },
    days,
  };
}

/** `chorus_units:key_…:2026112309`: the same key and hour always give the same identifier. */
export function meterIdentifier(eventName: string, keyId: string, hourMs: number): string {
  const h = new Date(hourStart(hourMs)).toISOString();
  return `${eventName}:${keyId}:${h.slice(0, 4)}${h.slice(5, 7)}${h.slice(8, 10)}${h.slice(11, 13)}`;
}

/**
 * Stripe-shaped meter events, one per key per hour with usage (zero hours are left out). The
 * identifier depends only on key and hour, so exporting a window again never double-bills;
 * OpenMeter's CloudEvents dedupe on source + id: use the identifier as the id.
 */
export function meterEvents(
  eventName: string,
  key: { id: string; customer: string },
  hours: readonly HourlyAggregate[],
): MeterEvent[] {
  return [...hours]
    .filter((h) => h.milli > 0)
    .sort((a, b) => a.hourMs - b.hourMs)
    .map((h) => ({
      event_name: eventName,
      payload: { stripe_customer_id: key.customer, value: formatMilli(h.milli) },
      identifier: meterIdentifier(eventName, key.id, h.hourMs),
      timestamp: Math.floor(hourStart(h.hourMs) / 1000),
    }));
}

export const toNdjson = (events: readonly MeterEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join('');

export const CSV_HEADER = 'event_name,stripe_customer_id,value,identifier,timestamp';

const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function toCsv(events: readonly MeterEvent[]): string {
  const lines = events.map((e) =>
    [e.event_name, e.payload.stripe_customer_id, e.payload.value, e.identifier, String(e.timestamp)]
      .map(csvField)
      .join(','),
  );
  return `${[CSV_HEADER, ...lines].join('\r\n')}\r\n`;
}
