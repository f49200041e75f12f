/**
 * Requests a hostile client can send that once got a 500, a wrong 200, a 402 for a body that is
 * invalid, or grew the isolate's caches per request (a review's sweep of several hundred requests
 * against the Worker in Miniflare; every case here failed before its fix).
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManifestResolver } from '../../functions/edge/manifests';
import { generateKey, hashKey } from '../../lib/metering';
import { R2BlobStore } from '../../lib/store';
import { expectProblem, failOnUnhandledErrors } from './problem';
import { ADMIN, bearer, call, createKey, fetchWorker, postJson, seedZoo, spamManifest } from './zoo';

failOnUnhandledErrors();

beforeAll(async () => {
  await seedZoo();
});

const FULL = spamManifest.members.reduce((s, m) => s + m.costUnits, 0);
const message = 'Subject: hello\n\nlunch tomorrow? the menu is at https://food.example/menu today';

describe('a name no ensemble can have reaches no cache and no object', () => {
  const long = `n${'a'.repeat(20_000)}`;

  it('anonymous: 401; with a key: 400 from validation, nothing held', async () => {
    await expectProblem(
      await postJson(`/v1/ensembles/${long}/predict`, { inputs: [{ message }] }),
      401,
      'unauthorized',
    );
    const { key } = await createKey({ name: 'names', scopes: ['predict'], budget_units: 10 * FULL });
    const res = await postJson(`/v1/ensembles/${long}/predict`, { inputs: [{ message }] }, bearer(key));
    await expectProblem(res, 400, 'validation_failed');
    const usage = await call('/v1/usage', { headers: bearer(key) });
    expect(usage.headers.get('Chorus-Budget-Remaining')).toBe(String(10 * FULL));
  });

  it('the resolver refuses it before asking the registry (which would start an object per name)', async () => {
    const resolver = new ManifestResolver(env.REGISTRY, new R2BlobStore(env.BUCKET), 5000);
    await expect(resolver.pointer(long)).rejects.toMatchObject({ code: 'not_found' });
    await expect(resolver.pointer('NOPE')).rejects.toMatchObject({ code: 'not_found' });
    await expect(resolver.pointer('no-such-ensemble')).resolves.toEqual({ version: 0, archived: false });
    expect((await resolver.pointer('spam')).version).toBeGreaterThan(0);
  });
});

describe('the budget answer at admission', () => {
  it('402 names the units left and required, with the header; an invalid body is a 400, not a 402', async () => {
    const { key } = await createKey({ name: 'short', scopes: ['predict'], budget_units: FULL });
    const two = [{ message }, { message }];
    const refused = await postJson('/v1/ensembles/spam/predict', { inputs: two }, bearer(key));
    const body = await expectProblem(refused, 402, 'budget_exhausted');
    expect(body.remaining_units).toBe(FULL);
    expect(body.required_units).toBe(2 * FULL);
    expect(refused.headers.get('Chorus-Budget-Remaining')).toBe(String(FULL));
    const tooMany = Array.from({ length: 200 }, () => ({ message }));
    await expectProblem(
      await postJson('/v1/ensembles/spam/predict', { inputs: tooMany }, bearer(key)),
      400,
      'validation_failed',
    );
    const one = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key));
    expect(one.status).toBe(200);
  });
});

describe('requests the router or the runtime cannot take', () => {
  it('a trailing slash is another path: 404, not a 405 that allows the method used', async () => {
    await expectProblem(
      await postJson('/v1/ensembles/spam/predict/', { inputs: [{ message }] }, ADMIN),
      404,
      'route_not_found',
    );
    await expectProblem(await call('/healthz/'), 404, 'route_not_found');
    await expectProblem(await call('/healthz', { method: 'POST' }), 405, 'method_not_allowed');
  });

  it('a usage window of days that do not exist is a 400, not an empty 200', async () => {
    const { key } = await createKey({ name: 'days', scopes: ['predict'] });
    for (const q of ['from=2026-13-45', 'to=9999-99-99', 'from=0000-00-00', 'from=2026-02-30']) {
      await expectProblem(await call(`/v1/usage?${q}`, { headers: bearer(key) }), 400, 'validation_failed');
    }
    expect((await call('/v1/usage?from=2024-02-29', { headers: bearer(key) })).status).toBe(200);
  });

  it('a body the runtime cannot deliver (a broken chunked encoding) is a 400 malformed_request', async () => {
    // what workerd hands the Worker for `Transfer-Encoding: chunked` with a bad chunk size
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('Network connection lost.'));
      },
    });
    const request = new Request('http://chorus.test/v1/ensembles/spam/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...ADMIN },
      body: broken,
      duplex: 'half',
    } as RequestInit);
    await expectProblem(await fetchWorker(request), 400, 'malformed_request');
  });

  it('a Host header that makes no valid URL still gets problem+json', async () => {
    // workerd passes the Host through into request.url unchecked; JavaScript cannot build such a
    // Request, so the runtime's object is stood in for by one with the same url and headers
    const raw = { url: 'http://a b/nope', method: 'GET', headers: new Headers(), body: null };
    const body = await expectProblem(await fetchWorker(raw as unknown as Request), 404, 'route_not_found');
    expect(body.instance).toBe('/nope');
  });
});

describe('what a stray object or a nested route could double', () => {
  it('a pointer object under a name no ensemble can have is skipped by the list, not a 404 for all', async () => {
    await env.BUCKET.put('ensembles/NOT A NAME/current.json', JSON.stringify({ name: 'x', version: 1 }));
    const res = await call('/v1/ensembles', { headers: ADMIN });
    expect(res.status).toBe(200);
    const { ensembles } = (await res.json()) as { ensembles: { name: string }[] };
    expect(ensembles.map((e) => e.name)).toContain('spam');
    await env.BUCKET.delete('ensembles/NOT A NAME/current.json');
  });

  it('a batch upload is admitted once: it takes one rate-limit token, not two', async () => {
    const { key } = await createKey({
      name: 'uploads',
      scopes: ['batch'],
      rate_limit: { requests: 5, window_seconds: 60 },
    });
    const res = await call('/v1/batches?ensemble=spam&name=once', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...bearer(key) },
      body: `${JSON.stringify({ id: 'r1', input: { message } })}\n`,
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('RateLimit')).toMatch(/;r=4;/);
  });
});

describe('credentials and ids nobody issued store nothing', () => {
  const randomKey = () => `chorus_${generateKey().slice('chorus_'.length)}`;
  const hex32 = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  /** What an object holds: an empty database is one 4 KiB page and no table. */
  const storedIn = (stub: DurableObjectStub) =>
    runInDurableObject(stub, (_o, state: DurableObjectState) => ({
      bytes: state.storage.sql.databaseSize,
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().length,
    }));

  it('a well-formed key that was never created: 401, and its meter stores nothing', async () => {
    const guess = randomKey();
    const res = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(guess));
    await expectProblem(res, 401, 'unauthorized');
    const stored = await storedIn(env.KEY_METER.get(env.KEY_METER.idFromName(await hashKey(guess))));
    expect(stored).toEqual({ bytes: 4096, tables: 0 });
  });

  it('status and file reads of batch ids never uploaded: 404, and their coordinators store nothing', async () => {
    const { key } = await createKey({ name: 'batch-guesser', scopes: ['batch'] });
    const id = hex32();
    for (const path of [`/v1/batches/${id}`, `/v1/batches/${id}/results`, `/v1/batches/${id}/errors`]) {
      await expectProblem(await call(path, { headers: bearer(key) }), 404, 'not_found');
    }
    expect(await storedIn(env.BATCHES.get(env.BATCHES.idFromName(id)))).toEqual({ bytes: 4096, tables: 0 });
  });
});

describe('a body built to fail validation many times over gets a short answer', () => {
  it('unknown keys by the thousand, and 64 inputs of wrong fields: issues bounded, the rest counted', async () => {
    const { key } = await createKey({ name: 'issues', scopes: ['predict'] });
    const junk = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 1]));
    const unknown = await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }], ...junk }, bearer(key));
    const a = await expectProblem(unknown, 400, 'validation_failed');
    expect(JSON.stringify(a).length).toBeLessThan(8_000);
    const wrong = Array.from({ length: 64 }, () => ({ a: 1, b: 2 }));
    const many = await postJson('/v1/ensembles/spam/predict', { inputs: wrong }, bearer(key));
    const b = await expectProblem(many, 400, 'validation_failed');
    expect((b.issues as unknown[]).length).toBe(20);
    expect(b.issues_omitted).toBe(64 * 2 - 20);
  });
});
