import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchAssembler,
  batchIdOf,
  classifyLines,
  DEFAULT_MAX_BAD_LINES,
  type PredictRows,
  parseLine,
  planParts,
  RAW_KEEP_CHARS,
  readBoundedLines,
  retryDelaySeconds,
  runPart,
  splitLines,
  TooManyBadLinesError,
  toJsonl,
} from '../../lib/batch';
import {
  BatchErrorRecordSchema,
  BatchQueueMessageSchema,
  BatchResultRecordSchema,
  type InputSpec,
} from '../../lib/schema';
import { batchKeys, ensembleOfIncomingKey } from '../../lib/store';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const spec: InputSpec = { fields: { message: { type: 'text', format: 'plain', maxLength: 1000, required: true } } };

/** A stand-in engine: label by message length, one member, 1 unit per row (the engine itself is tested in workerd). */
const predict: PredictRows = async (inputs) => ({
  ensemble: 't',
  version: 1,
  strategy: 'soft',
  ran: ['m'],
  degraded: [],
  usage: { units: inputs.length, inputs: inputs.length },
  predictions: inputs.map((i) => {
    const p = String(i.message).length % 2 === 0 ? 0.75 : 0.25;
    return {
      label: p > 0.5 ? 'a' : 'b',
      probabilities: { a: p, b: 1 - p },
      uncertainty: { entropy: 0.5, margin: 0.5, disagreement: 0 },
      abstained: [],
    };
  }),
});

describe('lines', () => {
  it('splits on LF, drops CR, and a final newline adds no line', () => {
    expect(splitLines(enc('a\r\nb\n\nc\n')).map(dec)).toEqual(['a', 'b', '', 'c']);
    expect(splitLines(enc('')).length).toBe(0);
    expect(splitLines(enc('x')).map(dec)).toEqual(['x']);
  });

  it('gives every kind of bad line its own stable code', () => {
    const code = (b: Uint8Array | string, max = 100) => {
      const p = parseLine(typeof b === 'string' ? enc(b) : b, max);
      return p.kind === 'error' ? p.code : 'ok';
    };
    expect(code('{"input":{"message":"hi"}}')).toBe('ok');
    expect(code('   ')).toBe('blank_line');
    expect(code('')).toBe('blank_line');
    expect(code(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toBe('invalid_utf8');
    expect(code('{"input":')).toBe('invalid_json');
    expect(code(`{"input":{"message":"${'x'.repeat(200)}"}}`)).toBe('line_too_long');
    expect(code('{"message":"fields directly are not the format"}')).toBe('schema_mismatch');
    expect(code('[1,2]')).toBe('schema_mismatch');
    expect(code('{"id":"a","input":{"message":"x"},"extra":1}')).toBe('schema_mismatch');
  });

  it('keeps a readable caller id and a truncated raw line on errors', () => {
    const p = parseLine(enc(`{"id":"r7","input":"${'y'.repeat(500)}"}`), 10_000);
    expect(p).toMatchObject({ kind: 'error', code: 'schema_mismatch', id: 'r7', rawTruncated: true });
    expect(p.raw.length).toBe(RAW_KEEP_CHARS);
  });
});

describe('part planning', () => {
  const fileOf = (lines: string[]) => enc(lines.map((l) => `${l}\n`).join(''));
  const reader = (bytes: Uint8Array) => async (s: number, e: number) => bytes.slice(s, e);

  it('cuts at line starts, covers the file exactly, and never splits a line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 16 }),
        async (lines, partBytes, window) => {
          const bytes = fileOf(lines);
          const ranges = await planParts(bytes.length, partBytes, reader(bytes), window);
          expect(ranges[0]?.start).toBe(0);
          expect(ranges.at(-1)?.end).toBe(bytes.length);
          ranges.forEach((r, k) => {
            if (k > 0) expect(r.start).toBe(ranges[k - 1]?.end);
            if (r.start > 0) expect(bytes[r.start - 1]).toBe(0x0a);
          });
          const rejoined = ranges.flatMap((r) => splitLines(bytes.slice(r.start, r.end)).map(dec));
          expect(rejoined).toEqual(splitLines(bytes).map(dec));
        },
      ),
    );
  });

  it('an empty file is one empty part; a line longer than a part stays whole', async () => {
    expect(await planParts(0, 10, reader(new Uint8Array()))).toEqual([{ start: 0, end: 0 }]);
    const bytes = fileOf(['a', 'x'.repeat(50), 'b']);
    const ranges = await planParts(bytes.length, 5, reader(bytes), 4);
    expect(ranges.map((r) => dec(bytes.slice(r.start, r.end)))).toEqual([`a\n${'x'.repeat(50)}\n`, 'b\n']);
  });

  it('a file without newlines is found out in a dozen reads, not one per window', async () => {
    let reads = 0;
    const bytes = new Uint8Array(95 << 20).fill(0x61);
    const counting = async (s: number, e: number) => {
      reads++;
      return bytes.subarray(s, e);
    };
    expect(await planParts(bytes.length, 1 << 20, counting)).toEqual([{ start: 0, end: bytes.length }]);
    expect(reads).toBeLessThan(25);
  });

  it("a part's bounded read classifies every line as the whole range does, holding no long line", async () => {
    const spec1: InputSpec = {
      fields: { message: { type: 'text', format: 'plain', maxLength: 1000, required: true } },
    };
    const line = fc.oneof(
      fc.constantFrom('{"input":{"message":"hi"}}', '', 'not json', '\r', '{"input":{"message":"cr"}}\r\r'),
      fc
        .tuple(fc.integer({ min: 0, max: 2_000 }), fc.constantFrom('', '\r', '\r\r'))
        .map(([n, cr]) => `{"input":{"message":"${'m'.repeat(n)}"}}${cr}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1_200 }),
        async (lines, finalNewline, window) => {
          const text = lines.join('\n') + (finalNewline && lines.length ? '\n' : '');
          const bytes = enc(text);
          const maxLineBytes = 50;
          const bounded = await readBoundedLines(reader(bytes), 0, bytes.length, maxLineBytes, window);
          const options = { maxLineBytes, spec: spec1, maxBadLines: 1000 };
          const whole = classifyLines(bytes, options);
          const cut = classifyLines(bounded, options);
          expect(cut.lines).toBe(whole.lines);
          expect(cut.valid.map((v) => [v.line, v.raw])).toEqual(whole.valid.map((v) => [v.line, v.raw]));
          expect(cut.errors).toEqual(whole.errors);
          const longest = Math.max(0, ...splitLines(bounded).map((l) => l.length));
          // a range that fits one window is read as it is; otherwise no line is held past its start
          expect(longest).toBeLessThanOrEqual(Math.max(RAW_KEEP_CHARS * 4 + 2, window));
        },
      ),
    );
  });
});

describe('batch id, keys and retry', () => {
  it('derives the id from key + ETag, quoted or not', async () => {
    const a = await batchIdOf('batches/incoming/spam/a.jsonl', '"abc"');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(await batchIdOf('batches/incoming/spam/a.jsonl', 'abc')).toBe(a);
    expect(await batchIdOf('batches/incoming/spam/a.jsonl', 'abd')).not.toBe(a);
    expect(await batchIdOf('batches/incoming/spam/b.jsonl', 'abc')).not.toBe(a);
  });

  it('reads the ensemble from the incoming key and builds state keys', () => {
    expect(ensembleOfIncomingKey('batches/incoming/spam/2026/x.jsonl')).toBe('spam');
    expect(ensembleOfIncomingKey('batches/incoming/x.jsonl')).toBeNull();
    expect(ensembleOfIncomingKey('batches/results/spam/x.jsonl')).toBeNull();
    expect(batchKeys('b1').partDone(3)).toBe('batches/state/b1/parts/3.done.json');
  });

  it('backs off exponentially from msg.attempts, capped', () => {
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(a, 2))).toEqual([2, 4, 8, 16]);
    expect(retryDelaySeconds(20, 2)).toBe(300);
  });

  it('accepts R2 notification bodies and part messages, nothing else', () => {
    const event = {
      account: 'acc',
      action: 'PutObject',
      bucket: 'chorus',
      object: { key: 'batches/incoming/spam/a.jsonl', size: 10, eTag: 'e' },
      eventTime: '2026-11-23T00:00:00Z',
    };
    expect(BatchQueueMessageSchema.safeParse(event).success).toBe(true);
    expect(BatchQueueMessageSchema.safeParse({ ...event, action: 'Nope' }).success).toBe(false);
    expect(BatchQueueMessageSchema.safeParse({ kind: 'batch-part', batch: 'x' }).success).toBe(false);
  });
});

describe('a part and its assembly', () => {
  const lines = [
    '{"id":"a","input":{"message":"hi"}}',
    '',
    '{"id":"b","input":{"message":"odd"}}',
    '{"id":"a","input":{"message":"again"}}',
    '{"input":{"subject":"wrong field"}}',
    'not json',
    '{"input":{"message":"no id"}}',
  ];

  it('every line lands in results or errors, in order, with its code', async () => {
    const out = await runPart(enc(lines.join('\n')), { part: 0, maxLineBytes: 1000, spec, predict, chunkRows: 2 });
    expect(out.results.map((r) => [r.line, r.id])).toEqual([
      [1, 'a'],
      [3, 'b'],
      [7, undefined],
    ]);
    expect(out.errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'blank_line'],
      [4, 'duplicate_id'],
      [5, 'invalid_input'],
      [6, 'invalid_json'],
    ]);
    expect(out.marker).toEqual({ part: 0, lines: 7, ok: 3, errors: 4, units: 3 });
    for (const e of out.errors) BatchErrorRecordSchema.parse(e);
  });

  it('rebases line numbers across parts; an id an earlier part used is an error of its own part', async () => {
    const p0 = await runPart(enc(lines.slice(0, 3).join('\n')), { part: 0, maxLineBytes: 1000, spec, predict });
    // line 1 of part 1 repeats part 0's id 'a': the scan before fan-out tells the part so
    const duplicateLines = new Set([1]);
    const p1 = await runPart(enc(lines.slice(3).join('\n')), {
      part: 1,
      maxLineBytes: 1000,
      spec,
      predict,
      duplicateLines,
    });
    const asm = new BatchAssembler();
    const files = [p0, p1].map((p) =>
      asm.add({ lines: p.marker.lines, results: toJsonl(p.results), errors: toJsonl(p.errors) }),
    );
    const results = files.flatMap((f) =>
      f.results
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
    const errors = files.flatMap((f) =>
      f.errors
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
    for (const r of results) BatchResultRecordSchema.parse(r);
    expect(results.map((r) => r.line)).toEqual([1, 3, 7]);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'blank_line'],
      [4, 'duplicate_id'],
      [5, 'invalid_input'],
      [6, 'invalid_json'],
    ]);
    expect(errors[1].raw).toContain('again');
    expect([asm.lines, asm.ok, asm.errors]).toEqual([7, 3, 4]);
  });

  it('records who abstained on each row, as the engine reports it', async () => {
    const abstaining: PredictRows = async (inputs) => {
      const answer = await predict(inputs);
      const who = (i: number) => ({ abstained: i === 0 ? ('all' as const) : ['m'] });
      return { ...answer, predictions: answer.predictions.map((p, i) => Object.assign({}, p, who(i))) };
    };
    const out = await runPart(enc(`${lines[0]}\n${lines[2]}`), {
      part: 0,
      maxLineBytes: 1000,
      spec,
      predict: abstaining,
    });
    expect(out.results.map((r) => r.abstained)).toEqual(['all', ['m']]);
  });

  it('a failing engine call fails the whole part (it is retried, nothing partial)', async () => {
    const failing: PredictRows = async () => {
      throw new Error('no healthy member');
    };
    await expect(runPart(enc(lines[0] ?? ''), { part: 0, maxLineBytes: 1000, spec, predict: failing })).rejects.toThrow(
      'no healthy member',
    );
  });
});

describe('bad lines past the cap', () => {
  // a 4 MiB part of newlines once held 4 million error records (≈ 850 MiB of heap)
  const newlines = (n: number) => new Uint8Array(n).fill(0x0a);

  it('a part with one bad line more than the cap stops with too_many_bad_lines, naming the first', () => {
    const run = () => classifyLines(newlines(4 << 20), { part: 3, maxLineBytes: 1000, spec });
    expect(run).toThrow(TooManyBadLinesError);
    expect(run).toThrow(
      `too_many_bad_lines: more than ${DEFAULT_MAX_BAD_LINES} bad lines (BATCH_MAX_BAD_LINES) in part 3; the first is its line 1 (blank_line)`,
    );
    const bad = 'not json\n'.repeat(6);
    expect(() => classifyLines(enc(bad), { maxLineBytes: 1000, maxBadLines: 5, spec })).toThrow(TooManyBadLinesError);
  });

  it('a part at the cap is sorted as usual: every bad line listed', async () => {
    const row = '{"input":{"message":"hi"}}';
    const atCap = enc(`${row}\n${'\n'.repeat(5)}${row}\n`);
    const out = await runPart(atCap, { part: 0, maxLineBytes: 1000, maxBadLines: 5, spec, predict });
    expect(out.marker).toMatchObject({ lines: 7, ok: 2, errors: 5 });
    expect(classifyLines(newlines(DEFAULT_MAX_BAD_LINES), { maxLineBytes: 1000, spec }).errors.length).toBe(
      DEFAULT_MAX_BAD_LINES,
    );
  });
});

describe('errors records stay small however the line fails', () => {
  it('a line of many unknown keys or many bad fields: one bounded message', () => {
    const keys = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 1]));
    const unknown = parseLine(enc(JSON.stringify({ input: { message: 'x' }, ...keys })), 1 << 20);
    const fields = parseLine(enc(JSON.stringify({ input: keys })), 1 << 20);
    for (const parsed of [unknown, fields]) {
      expect(parsed.kind).toBe('error');
      if (parsed.kind === 'error') expect(parsed.message.length).toBeLessThanOrEqual(1001);
    }
  });
});
