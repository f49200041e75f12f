/** Limits a batch file meets: bad lines past BATCH_MAX_BAD_LINES, a line of megabytes without a newline. */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchPartMarker } from '../../lib/schema';
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

describe('batch limits', () => {
  it('a file ending in a line of megabytes without a newline: one line_too_long, the rest fused', async () => {
    const { deps } = testDeps();
    const long = new Uint8Array(3 << 20).fill(0x61);
    const event = await dropFile('no-newline', joinBytes([lineOf(1), long]).subarray(0, -1));
    await deliver(deps, [event]);
    const id = await batchOf(event);
    expect(await statusOf(id)).toMatchObject({ state: 'done', counts: { lines: 2, ok: 1, errors: 1 } });
    const { errorRows } = await filesOf(id);
    expect(errorRows).toMatchObject([
      { line: 2, code: 'line_too_long', message: `more than ${env.BATCH_MAX_LINE_BYTES} bytes`, rawTruncated: true },
    ]);
  });

  describe('a batch with more bad lines than BATCH_MAX_BAD_LINES fails with the reason, at once', () => {
    const cap = Number(env.BATCH_MAX_BAD_LINES);
    const blanks = (n: number) => '\n'.repeat(n);

    it('one part over the cap: acknowledged, not retried, nothing predicted or written', async () => {
      let predicted = 0;
      const { deps } = testDeps({
        predict: async (m, inputs) => {
          predicted += inputs.length;
          return testDeps().deps.predict(m, inputs);
        },
      });
      const event = await dropFile('blank-flood', `${lineOf(1)}\n${blanks(cap + 1)}${lineOf(2)}\n`);
      const verdict = await deliver(deps, [event]);
      expect([verdict.retryMessages, verdict.explicitAcks.length]).toEqual([[], 1]);
      const id = await batchOf(event);
      expect(await statusOf(id)).toMatchObject({
        state: 'failed',
        failure: `too_many_bad_lines: more than ${cap} bad lines (BATCH_MAX_BAD_LINES) in part 0; the first is its line 2 (blank_line)`,
      });
      expect(predicted).toBe(0);
      expect(await filesOf(id)).toMatchObject({ results: null, errors: null });
    });

    it('parts each under the cap but over it together fail before fan-out', async () => {
      const { deps, sent } = testDeps({}, { partBytes: 8 * 1024 });
      const event = await dropFile('blank-spread', blanks(cap + 1));
      await deliver(deps, [event]);
      expect(sent).toEqual([]);
      expect((await statusOf(await batchOf(event)))?.failure).toMatch(/^too_many_bad_lines: .* in the batch$/);
    });

    it('a scan cut short and resumed still counts the bad lines of the parts it recorded', async () => {
      const { deps: base } = testDeps();
      // part 0 (8 KiB): one row with an id and ~8,150 blank lines; part 1: the other ~3,850
      const event = await dropFile('blank-resumed', `${lineOf(1)}\n${blanks(12_000)}`);
      let scanStarted = false;
      let failed = false;
      // the file's reads, with one failing: the first the scan makes after part 0 (the planner
      // reads from the part boundaries; the scan starts at byte 0)
      const readRange = base.objects.readRange.bind(base.objects);
      const objects = Object.assign(Object.create(base.objects) as typeof base.objects, {
        readRange: async (key: string, eTag: string, start: number, end: number) => {
          if (start === 0) scanStarted = true;
          else if (scanStarted && !failed) {
            failed = true;
            throw new Error('injected: a read failed mid-scan');
          }
          return readRange(key, eTag, start, end);
        },
      });
      const { deps, sent } = testDeps({ objects }, { partBytes: 8 * 1024, idsPerCall: 1 });
      const first = await deliver(deps, [event]);
      expect([failed, first.retryMessages.length]).toEqual([true, 1]);
      const id = await batchOf(event);
      const stub = env.BATCHES.get(env.BATCHES.idFromName(id));
      expect(await stub.scannedParts()).toEqual([0]); // part 0's ids were recorded before the failure
      await deliver(deps, [event], 2);
      expect(sent).toEqual([]);
      expect((await statusOf(id))?.failure).toMatch(/^too_many_bad_lines: .* in the batch$/);
    });

    it('exactly at the cap the batch is done, every bad line listed', async () => {
      const { deps } = testDeps();
      const event = await dropFile('blank-at-cap', `${lineOf(1)}\n${blanks(cap)}`);
      await deliver(deps, [event]);
      const id = await batchOf(event);
      expect(await statusOf(id)).toMatchObject({ state: 'done', counts: { lines: cap + 1, ok: 1, errors: cap } });
      expect((await filesOf(id)).errorRows.length).toBe(cap);
    });

    it("the coordinator fails a batch when its parts' reports pass the cap together", async () => {
      const id = 'c'.repeat(32);
      const stub = env.BATCHES.get(env.BATCHES.idFromName(id));
      const plan = {
        id,
        key: 'batches/incoming/x/y.jsonl',
        eTag: 'e',
        ensemble: CHEAP,
        version: 1,
        bytes: 9,
        parts: 3,
      };
      await stub.plan(plan);
      const half = Math.ceil(cap / 2) + 1;
      const marker = (part: number): BatchPartMarker => ({ part, lines: half, ok: 0, errors: half, units: 0 });
      expect((await stub.partDone(marker(0)))?.state).toBe('running');
      expect(await stub.partDone(marker(1))).toMatchObject({
        state: 'failed',
        failure: expect.stringMatching(/^too_many_bad_lines: .* in the batch$/),
      });
      expect((await stub.partDone(marker(2)))?.state).toBe('failed');
    });
  });
});
