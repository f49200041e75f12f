/** Defined outcomes: empty file, only bad lines, fan-out delivered out of order and twice, re-uploads. */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { assembleBatch } from '../../functions/edge/batch/assemble';
import type { BatchPredict } from '../../functions/edge/batch/deps';
import type { BatchPartMarker } from '../../lib/schema';
import { batchKeys } from '../../lib/store';
import {
  batchOf,
  CHEAP,
  deliver,
  dropFile,
  filesOf,
  joinBytes,
  lineOf,
  seedCheapEnsemble,
  statusOf,
  testDeps,
} from './batch-kit';

beforeAll(async () => {
  await seedCheapEnsemble();
});

/** A deterministic shuffle, so a failure replays the same delivery order. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('batch edge cases', () => {
  it('an empty file: done, zero lines, both files exist and are empty', async () => {
    const { deps } = testDeps();
    const event = await dropFile('empty', '');
    expect((await deliver(deps, [event])).retryMessages).toEqual([]);
    const id = await batchOf(event);
    expect(await statusOf(id)).toMatchObject({ state: 'done', counts: { lines: 0, ok: 0, errors: 0 } });
    expect(await filesOf(id)).toMatchObject({ results: '', errors: '' });
  });

  it('a file of only bad lines: done, an empty results file, every line in errors', async () => {
    const { deps } = testDeps();
    const event = await dropFile('only-bad', joinBytes(['', '{', '[]', '{"input":{"subject":"x"}}']));
    await deliver(deps, [event]);
    const id = await batchOf(event);
    const { results, errorRows } = await filesOf(id);
    expect(results).toBe('');
    expect(errorRows.map((e) => e.code)).toEqual(['blank_line', 'invalid_json', 'schema_mismatch', 'invalid_input']);
    expect((await statusOf(id))?.counts).toEqual({ lines: 4, ok: 0, errors: 4 });
  });

  it('fan-out: parts delivered shuffled and twice give the files of one in-order pass', async () => {
    const { deps, sent } = testDeps({}, { partBytes: 16 * 1024 });
    // rows the engine saw (and the part's meter counted): the duplicate is found before any part runs
    let predicted = 0;
    let used = 0;
    const real: BatchPredict = deps.predict;
    deps.predict = async (m, inputs) => {
      predicted += inputs.length;
      const answer = await real(m, inputs);
      used += answer.usage.units;
      return answer;
    };
    const lines = Array.from({ length: 2_000 }, (_, k) => (k === 1_499 ? lineOf(k + 1, 'r5') : lineOf(k + 1)));
    const event = await dropFile('fan-out', joinBytes(lines));
    const id = await batchOf(event);
    await deliver(deps, [event]);
    expect(sent.length).toBeGreaterThan(8);
    expect(sent.every((p) => p.parts === sent.length && p.end - p.start <= 16 * 1024 + 200)).toBe(true);
    const order = shuffled([...sent, ...sent.slice(0, 4)]);
    for (let i = 0; i < order.length; i += 3) await deliver(deps, order.slice(i, i + 3));
    // a re-delivered notification after the fact changes nothing
    await deliver(deps, [event]);
    const status = await statusOf(id);
    expect(status).toMatchObject({ state: 'done', parts: { done: sent.length, total: sent.length } });
    expect(status?.counts).toEqual({ lines: 2_000, ok: 1_999, errors: 1 });
    const { resultRows, errorRows } = await filesOf(id);
    expect(resultRows.map((r) => r.line)).toEqual(
      Array.from({ length: 2_000 }, (_, k) => k + 1).filter((l) => l !== 1_500),
    );
    expect(errorRows).toMatchObject([{ line: 1_500, id: 'r5', code: 'duplicate_id' }]);
    expect(predicted).toBe(1_999);
    // what the parts reported for metering: the 1,999 rows with results and the units they used
    const markers = await Promise.all(
      sent.map(async (p) => (await (await env.BUCKET.get(batchKeys(id).partDone(p.part)))?.json()) as BatchPartMarker),
    );
    expect(markers.reduce((n, m) => n + m.ok, 0)).toBe(1_999);
    expect(markers.reduce((n, m) => n + m.units, 0)).toBe(used);
    // assembled again with every share spilled to storage: the files streamed from the shares are the same bytes
    const before = await filesOf(id);
    const parts = markers.map((m) => ({ part: m.part, lines: m.lines })).sort((a, b) => a.part - b.part);
    await assembleBatch(deps.store, deps.objects, id, parts, {
      spillBytes: 1,
      multipartBytes: Number.MAX_SAFE_INTEGER,
    });
    for (const which of ['results', 'errors'] as const) {
      const partKey = which === 'results' ? batchKeys(id).partResults : batchKeys(id).partErrors;
      const shares = await Promise.all(
        parts.map((p) => env.BUCKET.head(partKey(p.part).replace(/\.jsonl$/, '.final.jsonl'))),
      );
      expect(shares.every((o) => o !== null)).toBe(true);
    }
    expect(await filesOf(id)).toEqual(before);
  });

  it('re-uploading the same bytes is the same batch (not run again); other bytes are a new batch', async () => {
    let calls = 0;
    const { deps } = testDeps();
    const real: BatchPredict = deps.predict;
    deps.predict = (m, inputs) => {
      calls++;
      return real(m, inputs);
    };
    const one = await dropFile('again', joinBytes([lineOf(1), lineOf(2)]));
    await deliver(deps, [one]);
    const before = await filesOf(await batchOf(one));
    const same = await dropFile('again', joinBytes([lineOf(1), lineOf(2)]));
    expect(await batchOf(same)).toBe(await batchOf(one));
    const callsBefore = calls;
    await deliver(deps, [same]);
    expect(calls).toBe(callsBefore);
    const other = await dropFile('again', joinBytes([lineOf(1), lineOf(2), lineOf(3)]));
    expect(await batchOf(other)).not.toBe(await batchOf(one));
    await deliver(deps, [other]);
    expect((await statusOf(await batchOf(other)))?.counts).toEqual({ lines: 3, ok: 3, errors: 0 });
    expect(await filesOf(await batchOf(one))).toEqual(before);
  });

  it('CopyObject and CompleteMultipartUpload notifications start a batch like PutObject', async () => {
    const { deps } = testDeps();
    for (const action of ['CopyObject', 'CompleteMultipartUpload'] as const) {
      const event = { ...(await dropFile(`action-${action}`, lineOf(1))), action };
      await deliver(deps, [event]);
      expect((await statusOf(await batchOf(event)))?.state).toBe('done');
    }
  });

  it('a notification for a version already replaced is acknowledged and starts nothing', async () => {
    const { deps } = testDeps();
    const stale = await dropFile('replaced', lineOf(1));
    await dropFile('replaced', joinBytes([lineOf(1), lineOf(2)]));
    expect((await deliver(deps, [stale])).explicitAcks.length).toBe(1);
    expect(await statusOf(await batchOf(stale))).toBeNull();
  });

  it('an accepted upload whose file is replaced before processing fails with the reason, not queued forever', async () => {
    const { deps } = testDeps();
    const first = await dropFile('replaced-accepted', lineOf(1));
    const id = await batchOf(first);
    // what POST /v1/batches does once the file is stored: the batch is known, queued
    await env.BATCHES.get(env.BATCHES.idFromName(id)).accept({
      id,
      key: first.object.key,
      eTag: first.object.eTag ?? '',
      ensemble: CHEAP,
      bytes: first.object.size ?? 0,
      owner: null,
    });
    await dropFile('replaced-accepted', joinBytes([lineOf(1), lineOf(2)]));
    await deliver(deps, [first]);
    expect(await statusOf(id)).toMatchObject({
      state: 'failed',
      failure: expect.stringContaining('replaced or removed'),
    });
  });

  it('a file dropped for an unknown ensemble fails at once with the reason; deletes are ignored', async () => {
    const { deps } = testDeps();
    const event = await dropFile('nobody', lineOf(1), 'no-such-ensemble');
    await deliver(deps, [event]);
    expect(await statusOf(await batchOf(event))).toMatchObject({
      state: 'failed',
      failure: expect.stringContaining("ensemble 'no-such-ensemble' does not exist"),
    });
    const deleted = { ...event, action: 'DeleteObject' };
    await env.BUCKET.delete(event.object.key);
    expect((await deliver(deps, [deleted, { not: 'a batch message' }])).explicitAcks.length).toBe(2);
  });

  it("a row's `ran` is what answered it, as if it came alone, not what ran for its chunk", async () => {
    const { deps } = testDeps();
    const quiet = JSON.stringify({ id: 'quiet', input: { message: 'x' } });
    const rowsOf = async (name: string, lines: string[]) => {
      const event = await dropFile(name, joinBytes(lines));
      await deliver(deps, [event]);
      return (await filesOf(await batchOf(event))).resultRows as { id: string; ran: string[]; abstained: unknown }[];
    };
    const alone = (await rowsOf('quiet-alone', [quiet])).find((r) => r.id === 'quiet');
    const after = (await rowsOf('quiet-after', [lineOf(1), quiet])).find((r) => r.id === 'quiet');
    expect(alone).toMatchObject({ ran: [], abstained: 'all' });
    expect(after).toMatchObject({ ran: alone?.ran, abstained: alone?.abstained });
  });
});
