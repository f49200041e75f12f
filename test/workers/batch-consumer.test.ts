/** The queue consumer called with createMessageBatch / getQueueResult, running the real engine. */

import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchPredict } from '../../functions/edge/batch/deps';
import { batchKeys } from '../../lib/store';
import {
  batchOf,
  CHEAP,
  cheapManifest,
  deliver,
  dropFile,
  filesOf,
  joinBytes,
  lineOf,
  seedCheapEnsemble,
  statusOf,
  testDeps,
} from './batch-kit';
import { putJson } from './zoo';

beforeAll(async () => {
  await seedCheapEnsemble();
});

/** Every 100th line is bad, cycling through the five kinds: 1 % of the file. */
function tenThousandLines(): { bytes: Uint8Array; bad: Map<number, string> } {
  const kinds = [
    ['invalid_json', () => '{"id": "x", "input": '],
    ['schema_mismatch', () => '{"message": "the fields directly, not under input"}'],
    ['line_too_long', (i: number) => lineOf(i).replace('hello', 'h'.repeat(3000))],
    ['blank_line', () => '  '],
    ['invalid_utf8', () => new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])],
  ] as const;
  const bad = new Map<number, string>();
  const lines = Array.from({ length: 10_000 }, (_, k) => {
    const i = k + 1;
    if (i % 100 !== 50) return lineOf(i);
    const [code, make] = kinds[((i / 100) % kinds.length) | 0] as (typeof kinds)[number];
    bad.set(i, code);
    return make(i);
  });
  return { bytes: joinBytes(lines), bad };
}

describe('batch consumer', () => {
  it('10,000 lines with 1 % malformed: results + errors = 10,000, each in input order, each bad line coded', async () => {
    const { deps } = testDeps({}, { maxLineBytes: 2048 });
    const { bytes, bad } = tenThousandLines();
    const event = await dropFile('ten-thousand', bytes);
    const verdict = await deliver(deps, [event]);
    expect(verdict.retryMessages).toEqual([]);
    expect(verdict.explicitAcks.length).toBe(1);
    const id = await batchOf(event);
    const status = await statusOf(id);
    expect(status).toMatchObject({ state: 'done', counts: { lines: 10_000, ok: 9_900, errors: 100 } });
    const { resultRows, errorRows } = await filesOf(id);
    expect(resultRows.length + errorRows.length).toBe(10_000);
    const lines = [...resultRows, ...errorRows].map((r) => r.line).sort((a, b) => a - b);
    expect(lines).toEqual(Array.from({ length: 10_000 }, (_, k) => k + 1));
    expect(resultRows.every((r, k) => k === 0 || r.line > resultRows[k - 1].line)).toBe(true);
    expect(resultRows.every((r) => r.id === `r${r.line}` && r.ran[0] === 'headers-logreg')).toBe(true);
    expect(errorRows.map((e) => [e.line, e.code])).toEqual([...bad.entries()]);
  });

  it('the same notification delivered twice: identical files, the engine runs once', async () => {
    let calls = 0;
    const counting =
      (base: BatchPredict): BatchPredict =>
      (m, inputs) => {
        calls++;
        return base(m, inputs);
      };
    const { deps } = testDeps();
    deps.predict = counting(deps.predict);
    const event = await dropFile('twice', joinBytes([lineOf(1), lineOf(2), 'oops', lineOf(3)]));
    await deliver(deps, [event]);
    const first = await filesOf(await batchOf(event));
    const callsAfterFirst = calls;
    const again = await deliver(deps, [event, event]);
    expect(again.explicitAcks.length).toBe(2);
    expect(calls).toBe(callsAfterFirst);
    expect(await filesOf(await batchOf(event))).toEqual(first);
    expect((await statusOf(await batchOf(event)))?.counts).toEqual({ lines: 4, ok: 3, errors: 1 });
  });

  it('a failure mid-part is retried with backoff; the retry completes and nothing is doubled', async () => {
    let calls = 0;
    const { deps } = testDeps({}, { chunkRows: 10 });
    const real = deps.predict;
    deps.predict = (m, inputs) => {
      calls++;
      if (calls === 3) throw new Error('injected: isolate lost mid-part');
      return real(m, inputs);
    };
    const event = await dropFile('mid-part', joinBytes(Array.from({ length: 50 }, (_, k) => lineOf(k + 1))));
    const id = await batchOf(event);
    const first = await deliver(deps, [event], 1);
    expect(first.retryMessages.length).toBe(1);
    expect(await env.BUCKET.head(batchKeys(id).partDone(0))).toBeNull();
    expect((await statusOf(id))?.state).toBe('running');
    const second = await deliver(deps, [event], 2);
    expect(second.retryMessages).toEqual([]);
    const { resultRows, errorRows } = await filesOf(id);
    expect(resultRows.map((r) => r.line)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
    expect(errorRows).toEqual([]);
  });

  it('a poison part is retried, dead-lettered, and the batch fails with the reason', async () => {
    const { deps, sent } = testDeps({}, { partBytes: 400 });
    const real = deps.predict;
    deps.predict = (m, inputs) => {
      if (inputs.some((i) => String(i.message).includes('offer 13\n'))) throw new Error('injected: poison row');
      return real(m, inputs);
    };
    const lines = Array.from({ length: 30 }, (_, k) => lineOf(k + 1));
    const poisonAt = joinBytes(lines.slice(0, 12)).length; // where line 13 starts
    const event = await dropFile('poison', joinBytes(lines));
    const id = await batchOf(event);
    await deliver(deps, [event]);
    expect(sent.length).toBeGreaterThan(2);
    const poison = sent.find((p) => p.start <= poisonAt && p.end > poisonAt);
    if (!poison) throw new Error('no part holds line 13');
    for (const p of sent) await deliver(deps, [p]);
    const retried = sent.filter((p) => p !== poison);
    for (let attempts = 2; attempts <= 4; attempts++) {
      const v = await deliver(deps, [poison], attempts);
      expect(v.retryMessages.length).toBe(1);
    }
    expect((await statusOf(id))?.state).toBe('running');
    expect((await statusOf(id))?.parts.done).toBe(retried.length);
    await deliver(deps, [poison], 4, 'chorus-batches-dlq');
    const status = await statusOf(id);
    expect(status?.state).toBe('failed');
    expect(status?.failure).toMatch(/part \d+ dead-lettered: injected: poison row/);
    // a late redelivery of the poison part leaves the failed batch alone
    expect((await deliver(deps, [poison], 5)).retryMessages).toEqual([]);

    // uploaded again after a new version is published: the failed run's messages touch nothing
    const current = (await statusOf(id))?.version ?? 0;
    const next = { ...cheapManifest(), version: current + 1 };
    expect((await putJson(`/v1/ensembles/${CHEAP}`, next)).status).toBe(201);
    const coordinator = env.BATCHES.get(env.BATCHES.idFromName(id));
    const { key, size, eTag } = event.object;
    await coordinator.accept({ id, key, eTag: eTag ?? '', ensemble: CHEAP, bytes: size ?? 0, owner: null });
    const rerun = testDeps({}, { partBytes: 400 });
    await deliver(rerun.deps, [event]);
    expect((await statusOf(id))?.version).toBe(current + 1);
    expect((await deliver(deps, [poison], 2)).retryMessages).toEqual([]);
    await deliver(deps, [poison], 4, 'chorus-batches-dlq');
    expect((await statusOf(id))?.state).toBe('running');
    for (const p of rerun.sent) await deliver(rerun.deps, [p]);
    expect(await statusOf(id)).toMatchObject({ state: 'done', counts: { lines: 30, ok: 30, errors: 0 } });
  });
});
