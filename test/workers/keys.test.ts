import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import { hashKey } from '../../lib/metering';
import { expectProblem } from './problem';
import { ADMIN, bearer, call, createKey, postJson, seedZoo, spamManifest } from './zoo';

const message = 'Subject: hello\n\nlunch tomorrow?';
const predictBody = JSON.stringify({ inputs: [{ message }] });

/** Every route but health and docs, with a body where it takes one. */
const ROUTES: { method: string; path: string; body?: string; type?: string; scope: string }[] = [
  { method: 'GET', path: '/v1/ensembles', scope: 'predict' },
  { method: 'GET', path: '/v1/ensembles/spam', scope: 'predict' },
  { method: 'PUT', path: '/v1/ensembles/spam', body: JSON.stringify(spamManifest), scope: 'admin' },
  { method: 'POST', path: '/v1/ensembles/spam/rollback', body: '{"version":1}', scope: 'admin' },
  { method: 'POST', path: '/v1/ensembles/spam/archive', scope: 'admin' },
  { method: 'POST', path: '/v1/ensembles/spam/restore', scope: 'admin' },
  { method: 'GET', path: '/v1/ensembles/spam/versions', scope: 'predict' },
  { method: 'GET', path: '/v1/ensembles/spam/diff?from=1&to=2', scope: 'predict' },
  { method: 'POST', path: '/v1/ensembles/spam-private/predict', body: predictBody, scope: 'predict' },
  { method: 'PUT', path: '/v1/models', body: 'onnx', type: 'application/octet-stream', scope: 'admin' },
  { method: 'GET', path: '/v1/models', scope: 'admin' },
  { method: 'PUT', path: '/v1/tokenizers', body: '{}', scope: 'admin' },
  { method: 'POST', path: '/v1/jobs', body: '{}', scope: 'jobs' },
  { method: 'GET', path: '/v1/jobs/00000000-0000', scope: 'jobs' },
  { method: 'GET', path: '/v1/jobs/00000000-0000/report', scope: 'jobs' },
  { method: 'POST', path: '/v1/batches', body: '{}', scope: 'batch' },
  { method: 'GET', path: '/v1/batches/some-batch', scope: 'batch' },
  { method: 'GET', path: '/v1/batches/some-batch/results', scope: 'batch' },
  { method: 'GET', path: '/v1/batches/some-batch/errors', scope: 'batch' },
  { method: 'POST', path: '/v1/keys', body: '{"name":"x","scopes":["admin"]}', scope: 'admin' },
  { method: 'GET', path: '/v1/keys', scope: 'admin' },
  { method: 'DELETE', path: '/v1/keys/key_abcdefgh', scope: 'admin' },
  { method: 'POST', path: '/v1/keys/key_abcdefgh/credit', body: '{"units":5}', scope: 'admin' },
  { method: 'GET', path: '/v1/public-ensembles', scope: 'admin' },
  { method: 'PUT', path: '/v1/public-ensembles/spam', scope: 'admin' },
  { method: 'DELETE', path: '/v1/public-ensembles/spam', scope: 'admin' },
  { method: 'GET', path: '/v1/usage', scope: 'any' },
  { method: 'GET', path: '/v1/usage/export?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', scope: 'admin' },
];

function send(route: (typeof ROUTES)[number], headers: Record<string, string>) {
  return call(route.path, {
    method: route.method,
    headers: { ...(route.body === undefined ? {} : { 'content-type': route.type ?? 'application/json' }), ...headers },
    ...(route.body === undefined ? {} : { body: route.body }),
  });
}

let predictOnly: { key: string; id: string };
let otherEnsemble: { key: string; id: string };

beforeAll(async () => {
  await seedZoo();
  predictOnly = await createKey({ name: 'demo', scopes: ['predict'], ensembles: ['spam'] });
  otherEnsemble = await createKey({ name: 'other', scopes: ['predict', 'batch', 'jobs'], ensembles: ['digits'] });
});

describe('API keys: authentication and scopes', () => {
  it('every route answers 401 without a key, and with an unknown or malformed one', async () => {
    for (const route of ROUTES) {
      await expectProblem(await send(route, {}), 401, 'unauthorized');
      await expectProblem(
        await send(route, bearer('chorus_NotAKeyThatExistsAnywhere1234567890ABCDEFG')),
        401,
        'unauthorized',
      );
      await expectProblem(await send(route, { authorization: 'Basic YWRtaW46YWRtaW4=' }), 401, 'unauthorized');
    }
  });

  it('every route answers 403 to a key lacking its scope or its ensemble', async () => {
    for (const route of ROUTES.filter((r) => r.scope !== 'predict' && r.scope !== 'any')) {
      await expectProblem(await send(route, bearer(predictOnly.key)), 403, 'forbidden');
    }
    for (const route of ROUTES.filter((r) => r.scope === 'predict' && r.path.includes('/spam'))) {
      await expectProblem(await send(route, bearer(otherEnsemble.key)), 403, 'forbidden');
    }
    const forPrivate = await createKey({ name: 'p', scopes: ['predict'], ensembles: ['spam'] });
    await expectProblem(
      await postJson('/v1/ensembles/spam-private/predict', { inputs: [{ message }] }, bearer(forPrivate.key)),
      403,
      'forbidden',
    );
  });

  it('a key with the scope and ensemble is served; the scheme is case-insensitive', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await postJson(
        '/v1/ensembles/spam/predict',
        { inputs: [{ message }] },
        {
          authorization: `${scheme} ${predictOnly.key}`,
        },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('RateLimit-Policy')).toBe('"default";q=600;w=60');
      expect(res.headers.get('RateLimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    }
    expect((await call('/v1/ensembles/spam', { headers: bearer(predictOnly.key) })).status).toBe(200);
    // the bootstrap admin token holds every scope
    expect((await call('/v1/keys', { headers: ADMIN })).status).toBe(200);
    expect((await call('/v1/keys', { headers: { authorization: 'bearer dev-admin-token' } })).status).toBe(200);
  });

  it('an admin key administers; revocation is effective on the next request', async () => {
    const admin = await postJson('/v1/keys', { name: 'ops', scopes: ['admin'] }, ADMIN);
    expect(admin.status).toBe(201);
    const adminKey = (await admin.json()) as { key: string };
    const victim = await postJson('/v1/keys', { name: 'victim', scopes: ['predict'] }, bearer(adminKey.key));
    expect(victim.status).toBe(201);
    const { key, id } = (await victim.json()) as { key: string; id: string };
    const predict = () => postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(key));
    expect((await predict()).status).toBe(200);
    const revoked = await call(`/v1/keys/${id}`, { method: 'DELETE', headers: bearer(adminKey.key) });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
    await expectProblem(await predict(), 401, 'unauthorized');
    await expectProblem(await call('/v1/usage', { headers: bearer(key) }), 401, 'unauthorized');
    await expectProblem(await call('/v1/keys/key_nosuchkey1', { method: 'DELETE', headers: ADMIN }), 404, 'not_found');
  });

  it('the container signs the ensemble routes jobs use; a bad signature is 401, and signing grants nothing else', async () => {
    const secret = env.JOB_SECRET ?? '';
    const path = '/v1/ensembles/spam';
    const signed = await call(path, { headers: { [SIGNATURE_HEADER]: await signRequest(secret, 'GET', path, '') } });
    expect(signed.status).toBe(200);
    const wrong = await signRequest('another-secret', 'GET', path, '');
    await expectProblem(await call(path, { headers: { [SIGNATURE_HEADER]: wrong } }), 401, 'unauthorized');
    const keys = await call('/v1/keys', {
      headers: { [SIGNATURE_HEADER]: await signRequest(secret, 'GET', '/v1/keys', '') },
    });
    await expectProblem(keys, 401, 'unauthorized');
  });

  it('anonymous callers reach public ensembles only, and only to predict', async () => {
    expect((await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] })).status).toBe(200);
    await expectProblem(await call('/v1/ensembles/spam'), 401, 'unauthorized');
    expect((await call('/v1/public-ensembles/spam', { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    await expectProblem(await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }), 401, 'unauthorized');
    expect((await call('/v1/public-ensembles/spam', { method: 'PUT', headers: ADMIN })).status).toBe(200);
  });
});

describe('API keys at rest', () => {
  it('stores only the SHA-256 and a display prefix; never logs the key', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const res = await postJson('/v1/keys', { name: 'secret', scopes: ['predict'], budget_units: 100 }, ADMIN);
    const created = (await res.json()) as { key: string; id: string; prefix: string };
    expect(created.key).toMatch(/^chorus_[1-9A-HJ-NP-Za-km-z]{44}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(created.key));
    await call('/v1/usage', { headers: bearer(created.key) });
    await call(`/v1/keys/${created.id}`, { method: 'DELETE', headers: ADMIN });
    await postJson('/v1/ensembles/spam/predict', { inputs: [{ message }] }, bearer(created.key));
    const logged = spies.flatMap((s) => s.mock.calls.map((args) => JSON.stringify(args)));
    for (const s of spies) s.mockRestore();
    expect(logged.join('\n')).not.toContain(created.key);

    const hash = await hashKey(created.key);
    const dump = (_: unknown, state: DurableObjectState) => {
      const tables = state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
        )
        .toArray();
      return JSON.stringify(tables.map((t) => state.storage.sql.exec(`SELECT * FROM "${t.name}"`).toArray()));
    };
    const directory = await runInDurableObject(env.KEY_DIRECTORY.get(env.KEY_DIRECTORY.idFromName('directory')), dump);
    const meter = await runInDurableObject(env.KEY_METER.get(env.KEY_METER.idFromName(hash)), dump);
    for (const stored of [directory, meter]) {
      expect(stored).toContain(hash);
      expect(stored).not.toContain(created.key);
      expect(stored).not.toContain(created.key.slice(7));
    }
    expect(directory).toContain(created.prefix);
    const listed = await (await call('/v1/keys', { headers: ADMIN })).text();
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.key);
    expect(listed).not.toContain(hash);
  });
});
