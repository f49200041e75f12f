import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../infra/local-stack';
import { sha256Hex } from '../../lib/store';
import { expectClose } from '../helpers/close';
import { startTestStack } from './ports';

let stack: Stack;
const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as {
  message: string;
  fused: { default: number[] };
}[];

beforeAll(async () => {
  stack = await startTestStack('e2e');
});

afterAll(async () => {
  await stack?.stop();
});

describe('the local stack: s3rver + the Worker under wrangler dev, over real HTTP', () => {
  it('the S3 store round-trips binary objects byte for byte and lists by prefix', async () => {
    const bytes = new Uint8Array(3_000_000).map((_, i) => (i * 31) % 251);
    await stack.store.put('datasets/e2e/blob.bin', bytes);
    const back = await stack.store.get('datasets/e2e/blob.bin');
    expect(back?.length).toBe(bytes.length);
    expect(await sha256Hex(back ?? new Uint8Array())).toBe(await sha256Hex(bytes));
    expect((await stack.store.head('datasets/e2e/blob.bin'))?.size).toBe(3_000_000);
    expect(await stack.store.list('datasets/e2e/')).toEqual(['datasets/e2e/blob.bin']);
    await stack.store.delete('datasets/e2e/blob.bin');
    expect(await stack.store.get('datasets/e2e/blob.bin')).toBeNull();
    expect(await stack.store.head('datasets/e2e/nothing')).toBeNull();
  });

  it('predicts through the S3-backed Worker with the reference answers', async () => {
    const res = await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoKey}` },
      body: JSON.stringify({ inputs: reference.map((r) => ({ message: r.message })) }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: { probabilities: { ham: number; spam: number } }[] };
    body.predictions.forEach((p, i) => {
      expectClose([p.probabilities.ham, p.probabilities.spam], reference[i]?.fused.default ?? [], 1e-5);
    });
  });

  it('the registry wrote the version object and the pointer into the bucket', async () => {
    const pointer = JSON.parse(
      new TextDecoder().decode((await stack.store.get('ensembles/spam/current.json')) ?? new Uint8Array()),
    );
    expect(pointer).toEqual({ name: 'spam', version: 1 });
    expect(await stack.store.head('ensembles/spam/versions/1.json')).not.toBeNull();
  });

  it('a new version published over HTTP is served without restarting anything', async () => {
    const manifest = JSON.parse(await readFile('models/spam/manifest.json', 'utf8')) as Record<string, unknown>;
    const put = await fetch(`${stack.edgeUrl}/v1/ensembles/spam`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
      body: JSON.stringify({ ...manifest, version: 2 }),
    });
    expect(put.status).toBe(201);
    const res = await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoKey}` },
      body: JSON.stringify({ inputs: [{ message: reference[0]?.message }] }),
    });
    expect(((await res.json()) as { version: number }).version).toBe(2);
  });

  it('npm start’s keys: the demo key predicts with spam only and sees its usage; the admin key administers', async () => {
    expect(stack.demoKey).toMatch(/^chorus_[1-9A-HJ-NP-Za-km-z]{44}$/);
    expect(stack.adminKey).toMatch(/^chorus_[1-9A-HJ-NP-Za-km-z]{44}$/);
    const predict = (headers: Record<string, string>) =>
      fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ inputs: [{ message: reference[0]?.message }] }),
      });
    expect((await predict({})).status).toBe(401);
    const ok = await predict({ authorization: `Bearer ${stack.demoKey}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-policy')).toMatch(/^"default";q=\d+;w=\d+$/);
    const keys = await fetch(`${stack.edgeUrl}/v1/keys`, { headers: { authorization: `Bearer ${stack.demoKey}` } });
    expect(keys.status).toBe(403);
    const listed = await fetch(`${stack.edgeUrl}/v1/keys`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(listed.status).toBe(200);
    expect(await listed.text()).not.toContain(stack.demoKey);
    const usage = await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.demoKey}` } });
    const body = (await usage.json()) as { totals: { requests: number } };
    expect(body.totals.requests).toBeGreaterThanOrEqual(3);
  });
});
