import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import worker from '../../functions/edge/index';
import { EdgeUsageSink } from '../../functions/edge/metering/service';
import { HOUR_MS, hourStart, parsePolicy } from '../../lib/metering';
import { type MeterEvent, UsageResponseSchema } from '../../lib/schema';
import { usageExportKey } from '../../lib/store';
import { ADMIN, bearer, call, createKey, postJson, putJson, reference, seedZoo, spamManifest } from './zoo';

// every member answers this one (a subject, five body words or more, a URL), so one request is FULL units
const message = 'Subject: hello\n\nlunch tomorrow? the menu is at https://food.example/menu today';
const FULL = spamManifest.members.reduce((s, m) => s + m.costUnits, 0);
const predict = (key: string, name = 'spam', inputs: unknown[] = [{ message }]) =>
  postJson(`/v1/ensembles/${name}/predict`, { inputs }, bearer(key));
const usageOf = async (key: string) =>
  UsageResponseSchema.parse(await (await call('/v1/usage', { headers: bearer(key) })).json());
/** A request's ledger row is written once its answer is out: wait until `requests` are booked. */
const settledUsage = (key: string, requests: number) =>
  vi.waitFor(
    async () => {
      const usage = await usageOf(key);
      expect(usage.totals.requests).toBe(requests);
      return usage;
    },
    { timeout: 5000, interval: 20 },
  );

async function exportWindow(format: 'ndjson' | 'csv', customer: string): Promise<string[]> {
  const from = new Date(hourStart(Date.now()) - HOUR_MS).toISOString();
  const to = new Date(hourStart(Date.now()) + 2 * HOUR_MS).toISOString();
  const res = await call(`/v1/usage/export?from=${from}&to=${to}&format=${format}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain(format === 'csv' ? 'text/csv' : 'application/x-ndjson');
  return new TextDecoder()
    .decode(await res.arrayBuffer())
    .split(/\r?\n/)
    .filter((l) => l.includes(customer));
}

beforeAll(async () => {
  await seedZoo();
});

describe('metering: atomic charges', () => {
  it('200 parallel predicts on a budget of exactly 100: 100 served and charged, 100 answered 402', async () => {
    const { key } = await createKey({
      name: 'budget',
      scopes: ['predict'],
      budget_units: 100 * FULL,
      rate_limit: { requests: 1000, window_seconds: 60 },
    });
    const answers = await Promise.all(Array.from({ length: 200 }, () => predict(key)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 402)).toHaveLength(100);
    const refused = answers.find((r) => r.status === 402) as Response;
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(((await refused.json()) as { code: string }).code).toBe('budget_exhausted');
    for (const r of answers) if (!r.bodyUsed) await r.body?.cancel();
    const usage = await settledUsage(key, 100);
    expect(usage.totals).toEqual({ units: 100 * FULL, requests: 100 });
    expect(usage.remaining_units).toBe(0);
    expect(usage.days).toEqual([
      { day: new Date().toISOString().slice(0, 10), ensemble: 'spam', units: 100 * FULL, requests: 100 },
    ]);
    // a top-up is a ledger row: the key is served again
    const list = (await (await call('/v1/keys', { headers: ADMIN })).json()) as {
      keys: { id: string; name: string }[];
    };
    const id = list.keys.find((k) => k.name === 'budget')?.id;
    expect((await postJson(`/v1/keys/${id}/credit`, { units: FULL }, ADMIN)).status).toBe(200);
    const again = await predict(key);
    expect(again.status).toBe(200);
    expect(again.headers.get('Chorus-Budget-Remaining')).toBe('0');
  });

  it('refunds what a cascade did not run: usage equals the answer’s units', async () => {
    const manifest = { ...structuredClone(spamManifest), name: 'spam-cascade-metered' };
    manifest.fusion = { ...manifest.fusion, cascadeThreshold: 0.5, quorum: 2 };
    expect((await putJson(`/v1/ensembles/${manifest.name}`, manifest)).status).toBe(201);
    const { key } = await createKey({ name: 'cascade', scopes: ['predict'], budget_units: 1000 });
    const spam = reference.find((r) => r.label === 'spam' && (r.fused.soft[1] ?? 0) > 0.9) ?? reference[0];
    const res = await predict(key, manifest.name, [{ message: spam?.message }, { message: spam?.message }]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { units: number } };
    expect(body.usage.units).toBeLessThan(2 * FULL);
    expect(Number(res.headers.get('Chorus-Budget-Remaining'))).toBe(1000 - body.usage.units);
    const usage = await settledUsage(key, 1);
    expect(usage.totals).toEqual({ units: body.usage.units, requests: 1 });
  });

  it('a failed prediction is refunded in full', async () => {
    const { key } = await createKey({ name: 'fail', scopes: ['predict'], budget_units: 50 });
    const res = await predict(key, 'spam', [{ nope: 'x' }]);
    expect(res.status).toBe(400);
    const usage = await settledUsage(key, 1);
    expect(usage.totals).toEqual({ units: 0, requests: 1 });
    expect(usage.remaining_units).toBe(50);
  });
});

describe('metering: rate limits', () => {
  it('a burst above the limit gets 429 with Retry-After; honouring it succeeds', async () => {
    const { key } = await createKey({
      name: 'burst',
      scopes: ['predict'],
      rate_limit: { requests: 2, window_seconds: 1 },
    });
    const burst = await Promise.all(Array.from({ length: 5 }, () => call('/v1/usage', { headers: bearer(key) })));
    expect(burst.filter((r) => r.status === 200)).toHaveLength(2);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    const first = limited[0] as Response;
    expect(((await first.json()) as { code: string }).code).toBe('rate_limited');
    expect(first.headers.get('RateLimit-Policy')).toBe('"default";q=2;w=1');
    expect(first.headers.get('RateLimit')).toMatch(/^"default";r=0;t=\d+$/);
    const retryAfter = Number(first.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await call('/v1/usage', { headers: bearer(key) })).status).toBe(200);
  });
});

describe('metering: public ensembles', () => {
  it('anonymous predicts on a public ensemble share a per-client limit: 429 with Retry-After', async () => {
    expect((await call('/v1/public-ensembles/spam', { method: 'PUT', headers: ADMIN })).status).toBe(200);
    const policy = parsePolicy(env.PUBLIC_RATE_LIMIT, { requests: 60, windowSeconds: 60 });
    const anonymous = (client: string, inputs: unknown[] = [{ message }]) =>
      postJson('/v1/ensembles/spam/predict', { inputs }, { 'cf-connecting-ip': client });
    expect((await anonymous('198.51.100.7')).status).toBe(200);
    // the client's tokens (and what refills meanwhile), spent cheaply: each admitted request takes
    // one and is then refused by validation; past the limit they are refused before
    const spend = await Promise.all(Array.from({ length: policy.requests + 50 }, () => anonymous('198.51.100.7', [])));
    expect(spend.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(policy.requests - 1);
    expect(spend.some((r) => r.status === 429)).toBe(true);
    // real predicts right after: refused (a token refills every window/requests seconds)
    const predicts = await Promise.all(Array.from({ length: 5 }, () => anonymous('198.51.100.7')));
    const limited = predicts.find((r) => r.status === 429);
    if (!limited) throw new Error(`no 429 among ${predicts.map((r) => r.status).join(', ')}`);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(((await limited.json()) as { code: string }).code).toBe('rate_limited');
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('RateLimit-Policy')).toBe(`"default";q=${policy.requests};w=${policy.windowSeconds}`);
    // the limit is the client's own: another address is still served
    expect((await anonymous('198.51.100.8')).status).toBe(200);
  });
});

describe('metering: work charged after it is done', () => {
  it('a key with no units left gets 402 for a batch upload and a job; with units left it is admitted', async () => {
    const { key, id } = await createKey({ name: 'spent', scopes: ['batch', 'jobs'], budget_units: FULL });
    const upload = () =>
      call('/v1/batches?ensemble=spam&name=spent', {
        method: 'POST',
        headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
        body: `${JSON.stringify({ id: 'a', input: { message } })}\n`,
      });
    const job = () => postJson('/v1/jobs', {}, bearer(key));
    expect((await upload()).status).toBe(202);
    // an invalid spec: past the budget gate, refused by validation
    expect((await job()).status).toBe(400);
    // the batch's rows are charged after the work (here: the sink directly), spending the budget
    await new EdgeUsageSink(env).partCounted(id, 'spent-batch', 0, 1, FULL, 'spam');
    for (const res of [await upload(), await job()]) {
      expect(res.status).toBe(402);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('budget_exhausted');
    }
  });
});

describe('usage export', () => {
  it('re-exporting a window gives the same identifiers, and the values sum to /v1/usage', async () => {
    const { key } = await createKey({ name: 'billed', scopes: ['predict'], customer: 'cus_export1' });
    for (let i = 0; i < 3; i++) expect((await predict(key)).status).toBe(200);
    const usage = await settledUsage(key, 3);
    const first = (await exportWindow('ndjson', 'cus_export1')).map((l) => JSON.parse(l) as MeterEvent);
    const second = (await exportWindow('ndjson', 'cus_export1')).map((l) => JSON.parse(l) as MeterEvent);
    expect(first.length).toBeGreaterThan(0);
    expect(second.map((e) => e.identifier)).toEqual(first.map((e) => e.identifier));
    expect(first.reduce((s, e) => s + Number(e.payload.value), 0)).toBe(usage.totals.units);
    expect(usage.totals.units).toBe(3 * FULL);
    for (const e of first) {
      expect(e.event_name).toBe('chorus_units');
      expect(e.timestamp % 3600).toBe(0);
    }
    const csv = await exportWindow('csv', 'cus_export1');
    expect(csv.map((l) => l.split(',')[3])).toEqual(first.map((e) => e.identifier));
  });

  it('a batch part delivered twice is charged once', async () => {
    const { key, id } = await createKey({ name: 'batcher', scopes: ['batch'], budget_units: 100 });
    const sink = new EdgeUsageSink(env);
    const a = await sink.partCounted(id, 'batch-1', 0, 10, 70, 'spam');
    const b = await sink.partCounted(id, 'batch-1', 0, 10, 70, 'spam');
    const c = await sink.partCounted(id, 'batch-1', 1, 2, 14, 'spam');
    expect(a).toMatchObject({ ok: true, duplicate: false });
    expect(b).toMatchObject({ ok: true, duplicate: true });
    expect(c).toMatchObject({ ok: true, duplicate: false, remainingUnits: 16 });
    expect((await usageOf(key)).totals).toEqual({ units: 84, requests: 12 });
  });

  it('the cron writes the closed hour’s meter events under usage/', async () => {
    const { key } = await createKey({ name: 'cron', scopes: ['predict'], customer: 'cus_cron1' });
    expect((await predict(key)).status).toBe(200);
    await settledUsage(key, 1);
    const next = hourStart(Date.now()) + HOUR_MS + 5 * 60_000;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: next, cron: '5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const object = await env.BUCKET.get(usageExportKey(hourStart(Date.now()), 'ndjson'));
    const lines = new TextDecoder()
      .decode(await (object as R2ObjectBody).arrayBuffer())
      .trim()
      .split('\n')
      .filter((l) => l.includes('cus_cron1'));
    expect(lines.map((l) => JSON.parse(l).payload.value)).toEqual([String(FULL)]);
    const api = await exportWindow('ndjson', 'cus_cron1');
    expect(api).toEqual(lines);
  });
});
