import { beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('a predict costing more than the budget is refused at admission with 402', async () => {
    const { key } = await createKey({ name: 'small', scopes: ['predict'], budget_units: FULL });
    const res = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }, { message }] }, bearer(key));
    expect(res.status).toBe(402);
    expect(((await res.json()) as { code: string }).code).toBe('budget_exhausted');
    const one = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key));
    expect(one.status).toBe(200);
  });
});
