/** Batch fusion end to end: the local stack (s3rver + wrangler dev), driven over HTTP like a user. */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchClient } from '../../cli';
import type { Stack } from '../../infra/local-stack';
import { EnsembleManifestSchema } from '../../lib/schema';
import { startTestStack } from './ports';

let stack: Stack;
let client: ReturnType<typeof batchClient>;
const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];

/** One int8 member of the zoo as its own ensemble: the cheap path for the 50 MB file. */
async function publishHeadersOnly(): Promise<void> {
  const spam = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));
  const manifest = { ...spam, name: 'headers-only', members: spam.members.slice(0, 1), fusion: { strategy: 'soft' } };
  const res = await fetch(`${stack.edgeUrl}/v1/ensembles/headers-only`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
    body: JSON.stringify(manifest),
  });
  expect(res.status).toBe(201);
}

const rows = async (res: Response) =>
  (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  stack = await startTestStack('batch');
  client = batchClient(stack.edgeUrl, stack.adminToken);
  await publishHeadersOnly();
});

afterAll(async () => {
  await stack?.stop();
});

describe('batch fusion over the local stack', () => {
  it('a file lands, fused results come back equal to /predict, bad lines in errors', async () => {
    const lines = reference.map((r, i) => JSON.stringify({ id: `ref-${i}`, input: { message: r.message } }));
    lines.splice(3, 0, '{"input": {"message": 42}}', 'not json', '');
    const body = `${lines.join('\n')}\n`;
    const accepted = await client.upload(body, 'spam', 'e2e-reference');
    const status = await client.finished(accepted.id);
    expect(status).toMatchObject({ state: 'done', counts: { lines: lines.length, ok: reference.length, errors: 3 } });
    const results = await rows(await client.file(accepted.id, 'results'));
    const errors = await rows(await client.file(accepted.id, 'errors'));
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [4, 'schema_mismatch'],
      [5, 'invalid_json'],
      [6, 'blank_line'],
    ]);
    const online = await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
      body: JSON.stringify({ inputs: reference.map((r) => ({ message: r.message })) }),
    });
    const answers = ((await online.json()) as { predictions: { probabilities: Record<string, number> }[] }).predictions;
    expect(results.map((r) => r.id)).toEqual(reference.map((_, i) => `ref-${i}`));
    results.forEach((r, i) => {
      expect(r.probabilities).toEqual(answers[i]?.probabilities);
    });
    // the same bytes again under the same name: the same batch, already done
    const again = await client.upload(body, 'spam', 'e2e-reference');
    expect(again.id).toBe(accepted.id);
    expect((await client.status(again.id)).state).toBe('done');
  });

  it('a 50 MB file fans out into parts and comes back whole, in order', async () => {
    const pad = 'lorem ipsum dolor sit amet '.repeat(36);
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 1; bytes < 50_000_000; i++) {
      const line = JSON.stringify({
        id: `row-${i}`,
        input: { message: `Subject: note ${i}\nFrom: user${i % 97}@example.org\n\n${pad}` },
      });
      lines.push(line);
      bytes += line.length + 1;
    }
    const accepted = await client.upload(`${lines.join('\n')}\n`, 'headers-only', 'e2e-50mb');
    expect(accepted.bytes).toBeGreaterThanOrEqual(50_000_000);
    const started = Date.now();
    const status = await client.finished(
      accepted.id,
      (s) => console.log(`50 MB: ${s.state} ${s.parts.done}/${s.parts.total}`),
      1000,
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`50 MB: ${lines.length} lines in ${seconds.toFixed(1)} s, ${status.parts.total} parts`);
    expect(status).toMatchObject({ state: 'done', counts: { lines: lines.length, ok: lines.length, errors: 0 } });
    expect(status.parts.total).toBeGreaterThanOrEqual(12);
    const text = await (await client.file(accepted.id, 'results')).text();
    // past 8 MiB the results file went up to s3rver as a multipart upload (8 MiB parts)
    const resultBytes = new TextEncoder().encode(text).length;
    console.log(`50 MB: results file ${resultBytes} bytes`);
    expect(resultBytes).toBeGreaterThan(8 << 20);
    const results = await rows(new Response(text));
    expect(results.length).toBe(lines.length);
    expect(results.every((r, k) => r.line === k + 1 && r.id === `row-${k + 1}`)).toBe(true);
  }, 300_000);
});
