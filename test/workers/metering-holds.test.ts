import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { KeyMeter } from '../../functions/edge/metering/key-meter';
import { hashKey } from '../../lib/metering';
import { UsageResponseSchema } from '../../lib/schema';
import { bearer, call, createKey, postJson, seedZoo, spamManifest } from './zoo';

const FULL = spamManifest.members.reduce((s, m) => s + m.costUnits, 0);
const message = 'Subject: hello\n\nlunch tomorrow? the menu is at https://food.example/menu today';

beforeAll(async () => {
  await seedZoo();
});

describe('holds taken at admission', () => {
  it('a request that fails validation gives its hold back and books nothing', async () => {
    const { key } = await createKey({ name: 'holds', scopes: ['predict'], budget_units: FULL });
    // passes the hold's reading (one input, a known ensemble), then fails the schema: unknown field
    for (let i = 0; i < 3; i++) {
      const bad = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }], colour: 'blue' }, bearer(key));
      expect(bad.status).toBe(400);
    }
    // the budget covers exactly one prediction: it is still whole once the holds are released
    await vi.waitFor(
      async () => {
        const res = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key));
        expect(res.status).toBe(200);
      },
      { timeout: 5000, interval: 50 },
    );
    await vi.waitFor(
      async () => {
        const usage = UsageResponseSchema.parse(await (await call('/v1/usage', { headers: bearer(key) })).json());
        expect(usage.totals.requests).toBe(1);
        expect(usage.remaining_units).toBe(FULL - usage.totals.units);
      },
      { timeout: 5000, interval: 20 },
    );
  });

  it('admission reads only the number of inputs: a spent budget is answered before the body is validated', async () => {
    const { key } = await createKey({ name: 'unread', scopes: ['predict'], budget_units: FULL });
    // two inputs cost more than the budget; the unknown field would fail validation, which never runs
    const body = { inputs: [{ message }, { message: 7 }], colour: 'blue' };
    const res = await postJson('/v1/ensembles/spam/predict', body, bearer(key));
    expect(res.status).toBe(402);
    expect(((await res.json()) as { code: string }).code).toBe('budget_exhausted');
    // within the budget, the same body is validated after admission: 400, and the hold is given back
    const one = await postJson('/v1/ensembles/spam/predict', { ...body, inputs: [{ message }] }, bearer(key));
    expect(one.status).toBe(400);
  });

  it('a predict costing more than the budget is refused at admission with 402', async () => {
    const { key } = await createKey({ name: 'small', scopes: ['predict'], budget_units: FULL });
    const res = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }, { message }] }, bearer(key));
    expect(res.status).toBe(402);
    expect(((await res.json()) as { code: string }).code).toBe('budget_exhausted');
    const one = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key));
    expect(one.status).toBe(200);
  });
});

describe('settlements owed by the isolate', () => {
  const used = { kind: 'predict' as const, ensemble: 'spam', units: 2, requests: 1 };
  const meterOfKey = async (key: string) => env.KEY_METER.get(env.KEY_METER.idFromName(await hashKey(key)));

  it('a settlement sent twice books one row; a release after it books nothing', async () => {
    const { key } = await createKey({ name: 'twice', scopes: ['predict'], budget_units: 10 });
    const hash = await hashKey(key);
    const stub = await meterOfKey(key);
    await runInDurableObject(stub, (meter: KeyMeter) => {
      const admitted = meter.admit({ keyHash: hash, scope: 'predict', ensemble: 'spam', holdUnits: 5 });
      if (!admitted.ok || !admitted.hold) throw new Error('not admitted');
      const { reservation } = admitted.hold;
      // the next admission carries it, and so (after a failed call, say) does a later one
      for (let i = 0; i < 2; i++) meter.admit({ keyHash: hash, scope: 'predict', owed: [{ reservation, used }] });
      meter.settleAll([{ reservation }]);
      const { remainingMilli, rows } = meter.daily(0, Date.now() + 86_400_000);
      expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(1);
      expect(remainingMilli).toBe(8000);
    });
  });

  it('a settlement that never arrives leaves the full hold charged', async () => {
    const { key } = await createKey({ name: 'lost', scopes: ['predict'], budget_units: 10 });
    const hash = await hashKey(key);
    await runInDurableObject(await meterOfKey(key), (meter: KeyMeter) => {
      const first = meter.admit({ keyHash: hash, scope: 'predict', ensemble: 'spam', holdUnits: 6 });
      expect(first.ok).toBe(true);
      // long after: no expiry gives the units back, the work was served
      const later = meter.admit({ keyHash: hash, scope: 'predict', holdUnits: 6, nowMs: Date.now() + 3_600_000 });
      expect(later).toMatchObject({ ok: false, status: 402 });
      const { remainingMilli, rows } = meter.daily(0, Date.now() + 86_400_000);
      expect(remainingMilli).toBe(4000);
      expect(rows).toEqual([expect.objectContaining({ ensemble: 'spam', milli: 6000, requests: 1 })]);
    });
  });

  it('a meter restart keeps the charge of a hold, and its late settlement still refunds once', async () => {
    const { key } = await createKey({ name: 'restart', scopes: ['predict'], budget_units: 10 });
    const hash = await hashKey(key);
    const stub = await meterOfKey(key);
    const reservation = await runInDurableObject(stub, (meter: KeyMeter) => {
      const admitted = meter.admit({ keyHash: hash, scope: 'predict', ensemble: 'spam', holdUnits: 5 });
      if (!admitted.ok || !admitted.hold) throw new Error('not admitted');
      return admitted.hold.reservation;
    });
    await runInDurableObject(stub, (_meter: KeyMeter, state) => {
      // a fresh instance over the same storage: what a restart or an eviction leaves
      const fresh = new KeyMeter(state, env);
      expect(fresh.daily(0, Date.now() + 86_400_000).remainingMilli).toBe(5000);
      expect(fresh.admit({ keyHash: hash, scope: 'predict', holdUnits: 6 })).toMatchObject({ status: 402 });
      const again = new KeyMeter(state, env);
      for (let i = 0; i < 2; i++) again.settleAll([{ reservation, used }]);
      const { remainingMilli, rows } = new KeyMeter(state, env).daily(0, Date.now() + 86_400_000);
      expect(remainingMilli).toBe(8000);
      expect(rows.reduce((s, r) => s + r.milli, 0)).toBe(2000);
      expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(1);
    });
  });

  it('a release refunds the request too; a settlement after it refunds nothing more', async () => {
    const { key } = await createKey({ name: 'release', scopes: ['predict'], budget_units: 10 });
    const hash = await hashKey(key);
    await runInDurableObject(await meterOfKey(key), (meter: KeyMeter) => {
      const admitted = meter.admit({ keyHash: hash, scope: 'predict', ensemble: 'spam', holdUnits: 10 });
      if (!admitted.ok || !admitted.hold) throw new Error('not admitted');
      const { reservation } = admitted.hold;
      expect(meter.release(reservation)).toBe(true);
      meter.settleAll([{ reservation, used }, { reservation }]);
      const { remainingMilli, rows } = meter.daily(0, Date.now() + 86_400_000);
      expect(remainingMilli).toBe(10_000);
      expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(0);
      // a reservation that is not a hold (here: the key's credit row) refunds nothing
      expect(meter.release(1)).toBe(false);
    });
  });

  it('a predict right after another carries its settlement: usage is booked without waiting', async () => {
    const { key } = await createKey({ name: 'carry', scopes: ['predict'], budget_units: 10 * FULL });
    for (let i = 0; i < 2; i++) {
      expect((await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key))).status).toBe(200);
    }
    // the usage read is the key's next call: it carries the second predict's settlement too
    const usage = UsageResponseSchema.parse(await (await call('/v1/usage', { headers: bearer(key) })).json());
    expect(usage.totals.requests).toBe(2);
    expect(usage.remaining_units).toBe(10 * FULL - usage.totals.units);
  });
});
