import { describe, expect, it } from 'vitest';
import { CSV_HEADER, meterEvents, toCsv, toNdjson, usageReport } from '../../lib/metering';
import { MeterEventSchema } from '../../lib/schema';

const H = 3_600_000;
const t0 = Date.UTC(2026, 10, 23, 9);
const key = { id: 'key_abcdefgh', customer: 'cus_123' };

describe('billing export', () => {
  it('one Stripe-shaped event per hour with usage; identifiers depend on key and hour only', () => {
    const hours = [
      { hourMs: t0 + H, milli: 2500 },
      { hourMs: t0, milli: 7000 },
      { hourMs: t0 + 2 * H, milli: 0 },
    ];
    const events = meterEvents('chorus_units', key, hours);
    expect(events).toEqual([
      {
        event_name: 'chorus_units',
        payload: { stripe_customer_id: 'cus_123', value: '7' },
        identifier: 'chorus_units:key_abcdefgh:2026112309',
        timestamp: t0 / 1000,
      },
      {
        event_name: 'chorus_units',
        payload: { stripe_customer_id: 'cus_123', value: '2.5' },
        identifier: 'chorus_units:key_abcdefgh:2026112310',
        timestamp: (t0 + H) / 1000,
      },
    ]);
    for (const e of events) MeterEventSchema.parse(e);
    // a later export of the same hour with more usage keeps the identifier (billing systems dedupe)
    const again = meterEvents('chorus_units', key, [{ hourMs: t0 + 123, milli: 9000 }]);
    expect(again[0]?.identifier).toBe(events[0]?.identifier);
    expect(meterEvents('chorus_units', { ...key, id: 'key_other123' }, hours)[0]?.identifier).not.toBe(
      events[0]?.identifier,
    );
  });

  it('NDJSON and CSV carry the same records', () => {
    const events = meterEvents('chorus_units', key, [
      { hourMs: t0, milli: 1000 },
      { hourMs: t0 + H, milli: 3000 },
    ]);
    const nd = toNdjson(events).trimEnd().split('\n');
    expect(nd.map((l) => JSON.parse(l))).toEqual(events);
    const csv = toCsv(events).trimEnd().split('\r\n');
    expect(csv[0]).toBe(CSV_HEADER);
    expect(csv[1]).toBe(`chorus_units,cus_123,1,chorus_units:key_abcdefgh:2026112309,${t0 / 1000}`);
    expect(toCsv([])).toBe(`${CSV_HEADER}\r\n`);
  });

  it('usage reports sort by day and ensemble and sum exactly', () => {
    const r = usageReport('key_abcdefgh', 500, [
      { day: '2026-11-23', ensemble: 'spam', milli: 100, requests: 1 },
      { day: '2026-11-22', ensemble: 'spam', milli: 200, requests: 2 },
      { day: '2026-11-22', ensemble: 'digits', milli: 300, requests: 1 },
    ]);
    expect(r.days.map((d) => `${d.day}/${d.ensemble}`)).toEqual([
      '2026-11-22/digits',
      '2026-11-22/spam',
      '2026-11-23/spam',
    ]);
    expect(r.totals).toEqual({ units: 0.6, requests: 4 });
    expect(r.remaining_units).toBe(0.5);
  });
});
