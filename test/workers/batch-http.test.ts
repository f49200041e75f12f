/** Producer → consumer through the Worker: POST /v1/batches enqueues, the real queue delivers. */

import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { BatchStatus } from '../../lib/schema';
import { batchOf, CHEAP, deliver, dropFile, joinBytes, lineOf, seedCheapEnsemble, testDeps } from './batch-kit';
import { ADMIN, bearer, call as callAnonymous, createKey, putJson, spamManifest } from './zoo';

/** Batch routes need the `batch` scope: the bootstrap admin token has every scope. */
const call = (path: string, init: RequestInit = {}) =>
  callAnonymous(path, { ...init, headers: { ...ADMIN, ...(init.headers as Record<string, string>) } });

beforeAll(async () => {
  await seedCheapEnsemble();
});

const upload = (body: BodyInit, query = `ensemble=${CHEAP}`, type = 'application/x-ndjson') =>
  call(`/v1/batches?${query}`, { method: 'POST', headers: { 'content-type': type }, body });

async function accepted(res: Response) {
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; key: string; eTag: string; links: Record<string, string> };
}

async function finished(id: string, timeout = 30_000): Promise<BatchStatus> {
  return vi.waitUntil(
    async () => {
      const s = (await (await call(`/v1/batches/${id}`)).json()) as BatchStatus;
      return s.state === 'done' || s.state === 'failed' ? s : undefined;
    },
    { timeout, interval: 100 },
  );
}

/** JSONL bodies as text (workerd warns on .text() of a type it does not know as text). */
const textOf = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

/** The status now, without waiting. */
const statusNow = async (id: string) => (await (await call(`/v1/batches/${id}`)).json()) as BatchStatus;

const problem = async (res: Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(((await res.json()) as { code: string }).code).toBe(code);
};

describe('POST /v1/batches through the queue', () => {
  it('upload, poll, stream results and errors', async () => {
    const body = joinBytes([lineOf(1), '{"id":"bad"', lineOf(3)]);
    const a = await accepted(await upload(body, `ensemble=${CHEAP}&name=http-basic`));
    expect(a.key).toBe(`batches/incoming/${CHEAP}/http-basic.jsonl`);
    // known from the moment the upload answers: queued until the consumer plans it
    expect((await call(`/v1/batches/${a.id}`)).status).toBe(200);
    const status = await finished(a.id);
    expect(status).toMatchObject({
      state: 'done',
      counts: { lines: 3, ok: 2, errors: 1 },
      parts: { done: 1, total: 1 },
    });
    const results = await call(a.links.results ?? '');
    expect(results.headers.get('content-type')).toBe('application/x-ndjson');
    expect(
      (await textOf(results))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['r1', 'r3']);
    const errors = (await textOf(await call(a.links.errors ?? ''))).trim().split('\n');
    const [error] = errors.map((l) => JSON.parse(l));
    expect(error).toMatchObject({ line: 2, code: 'invalid_json', raw: '{"id":"bad"' });
    expect(error).not.toHaveProperty('id'); // not readable from invalid JSON
  });

  it('the same bytes under the same name are the same batch; other bytes a new one', async () => {
    const first = await accepted(await upload(joinBytes([lineOf(1)]), `ensemble=${CHEAP}&name=http-again`));
    await finished(first.id);
    const same = await accepted(await upload(joinBytes([lineOf(1)]), `ensemble=${CHEAP}&name=http-again`));
    expect(same.id).toBe(first.id);
    const other = await accepted(await upload(joinBytes([lineOf(1), lineOf(2)]), `ensemble=${CHEAP}&name=http-again`));
    expect(other.id).not.toBe(first.id);
    expect((await finished(other.id)).counts).toEqual({ lines: 2, ok: 2, errors: 0 });
    expect((await finished(first.id)).counts).toEqual({ lines: 1, ok: 1, errors: 0 });
  });

  it('a file over BATCH_PART_BYTES fans out into part messages on the real queue', async () => {
    const pad = 'x'.repeat(900);
    const lines = Array.from({ length: 1_500 }, (_, k) => lineOf(k + 1).replace('hello', `hello ${pad}`));
    const body = joinBytes(lines);
    expect(body.length).toBeGreaterThan(Number(env.BATCH_PART_BYTES));
    const a = await accepted(await upload(body));
    const status = await finished(a.id, 55_000);
    expect(status).toMatchObject({ state: 'done', counts: { lines: 1_500, ok: 1_500, errors: 0 } });
    expect(status.parts.total).toBe(2);
    const ids = (await textOf(await call(a.links.results ?? '')))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).line);
    expect(ids).toEqual(Array.from({ length: 1_500 }, (_, k) => k + 1));
  }, 60_000);

  it('a batch still queued when its alarm rings is announced again and runs', async () => {
    const event = await dropFile('lost-notification', joinBytes([lineOf(1), lineOf(2)]));
    const id = await batchOf(event);
    const stub = env.BATCHES.get(env.BATCHES.idFromName(id));
    await stub.accept({
      id,
      key: event.object.key,
      eTag: event.object.eTag ?? '',
      ensemble: CHEAP,
      bytes: 0,
      owner: null,
    });
    expect((await statusNow(id)).state).toBe('queued');
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await finished(id)).counts).toEqual({ lines: 2, ok: 2, errors: 0 });
  });

  it('answers problems with stable codes', async () => {
    await problem(await upload('x', 'ensemble=no-such-ensemble'), 404, 'not_found');
    await problem(await upload('x', `ensemble=${CHEAP}`, 'image/png'), 415, 'unsupported_media_type');
    await problem(await upload('x', 'name=missing-ensemble'), 400, 'validation_failed');
    await problem(await call('/v1/batches/not-an-id'), 400, 'validation_failed');
    await problem(await call(`/v1/batches/${'0'.repeat(32)}`), 404, 'not_found');
    await problem(await call(`/v1/batches/${'0'.repeat(32)}/results`), 404, 'not_found');
    const running = 'f'.repeat(32);
    await env.BATCHES.get(env.BATCHES.idFromName(running)).plan({
      id: running,
      key: `batches/incoming/${CHEAP}/running.jsonl`,
      eTag: 'e',
      ensemble: CHEAP,
      version: 1,
      bytes: 1,
      parts: 2,
    });
    await problem(await call(`/v1/batches/${running}/errors`), 409, 'batch_not_ready');
  });
});

describe('pay-per-use on the batch path', () => {
  it('rows of an uploaded batch are charged to the uploading key, once per part', async () => {
    const { key } = await createKey({ name: 'batch-owner', scopes: ['batch'], ensembles: [CHEAP] });
    const headers = { ...bearer(key), 'content-type': 'application/x-ndjson' };
    const body = joinBytes([lineOf(1), lineOf(2), '{"id":"bad"', lineOf(4)]);
    const res = await callAnonymous(`/v1/batches?ensemble=${CHEAP}&name=metered`, { method: 'POST', headers, body });
    const { id } = await accepted(res);
    const done = await finished(id);
    expect(done.counts).toMatchObject({ ok: 3, errors: 1 });
    const usage = (await (await callAnonymous('/v1/usage', { headers: bearer(key) })).json()) as {
      totals: { units: number };
    };
    // three valid rows through the one-member ensemble (1 unit each); the bad line is not charged
    expect(usage.totals.units).toBe(3);
  });

  it('a batch is read by the key that uploaded it and by admins; another key gets 404 as for no batch', async () => {
    const { key: owner } = await createKey({ name: 'batch-reader', scopes: ['batch'], ensembles: [CHEAP] });
    const { key: other } = await createKey({ name: 'batch-stranger', scopes: ['batch'] });
    const { key: admin } = await createKey({ name: 'batch-admin', scopes: ['batch', 'admin'] });
    const res = await callAnonymous(`/v1/batches?ensemble=${CHEAP}&name=owned`, {
      method: 'POST',
      headers: { ...bearer(owner), 'content-type': 'application/x-ndjson' },
      body: joinBytes([lineOf(1), lineOf(2)]),
    });
    const { id } = await accepted(res);
    await finished(id);
    for (const path of [`/v1/batches/${id}`, `/v1/batches/${id}/results`, `/v1/batches/${id}/errors`]) {
      for (const reader of [owner, admin]) {
        const read = await callAnonymous(path, { headers: bearer(reader) });
        expect(read.status).toBe(200);
        await read.body?.cancel();
      }
      const denied = await callAnonymous(path, { headers: bearer(other) });
      const unknown = await callAnonymous(path.replace(id, 'f'.repeat(id.length)), { headers: bearer(other) });
      await problem(denied, 404, 'not_found');
      await problem(unknown, 404, 'not_found');
    }
  });

  it('two keys uploading under one name get two batches: neither replaces nor reads the other', async () => {
    const keys = await Promise.all(
      ['batch-name-a', 'batch-name-b'].map((name) => createKey({ name, scopes: ['batch'], ensembles: [CHEAP] })),
    );
    const uploadAs = async (key: string, lines: string[]) =>
      accepted(
        await callAnonymous(`/v1/batches?ensemble=${CHEAP}&name=shared-name`, {
          method: 'POST',
          headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
          body: joinBytes(lines),
        }),
      );
    const [a, b] = keys.map((k) => k.key) as [string, string];
    const first = await uploadAs(a, [lineOf(1)]);
    // the same bytes, then other bytes, under the same name from a second key
    const same = await uploadAs(b, [lineOf(1)]);
    const other = await uploadAs(b, [lineOf(1), lineOf(2)]);
    expect(first.key).toBe(`batches/incoming/${CHEAP}/${keys[0]?.id}/shared-name.jsonl`);
    expect(same.key).toBe(`batches/incoming/${CHEAP}/${keys[1]?.id}/shared-name.jsonl`);
    expect(same.id).not.toBe(first.id);
    expect((await finished(first.id)).state).toBe('done');
    expect((await finished(other.id)).state).toBe('done');
    const read = async (key: string, id: string) =>
      (await callAnonymous(`/v1/batches/${id}`, { headers: bearer(key) })).status;
    expect([await read(a, first.id), await read(b, other.id)]).toEqual([200, 200]);
    expect([await read(b, first.id), await read(a, other.id)]).toEqual([404, 404]);
  });

  it("a key's ensemble allow-list applies to the ensemble a batch upload names", async () => {
    const { key } = await createKey({ name: 'batch-spam-only', scopes: ['batch'], ensembles: ['spam'] });
    const res = await callAnonymous(`/v1/batches?ensemble=${CHEAP}&name=not-mine`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
      body: joinBytes([lineOf(1)]),
    });
    await problem(res, 403, 'forbidden');
  });
});

describe('a failed batch uploaded again', () => {
  it('runs again from the start; a failure that never reached the dead-letter queue does not say it did', async () => {
    const ensemble = 'published-late';
    const bytes = joinBytes([lineOf(1), lineOf(2)]);
    const dropped = await dropFile('late', bytes, ensemble);
    const { deps } = testDeps();
    await deliver(deps, [dropped]);
    const id = await batchOf(dropped);
    expect(await statusNow(id)).toMatchObject({
      state: 'failed',
      failure: `ensemble '${ensemble}' does not exist or is archived`,
    });
    const member = structuredClone(spamManifest.members[0]);
    const fusion = { strategy: 'soft', temperature: 1, quorum: 1 };
    const manifest = { ...structuredClone(spamManifest), name: ensemble, members: [member], fusion };
    expect((await putJson(`/v1/ensembles/${ensemble}`, manifest)).status).toBe(201);
    const again = await accepted(await upload(bytes, `ensemble=${ensemble}&name=late`));
    expect(again.id).toBe(id);
    expect(await finished(id)).toMatchObject({ state: 'done', counts: { lines: 2, ok: 2, errors: 0 } });
  });
});
