/**
 * The `chorus` bin against a recording HTTP server on loopback: the bytes it sends (one e-mail as
 * raw message/rfc822, byte for byte), how it falls back to JSON for a server that refuses raw
 * bodies, and the exit code and one stderr line for each kind of answer. The server plays the
 * API's answers; the CLI under test is the real process.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { problemBody } from '../../lib/schema';
import { runChorus } from '../e2e/chorus-bin';

interface Seen {
  method: string;
  url: string;
  type: string;
  auth: string;
  body: Buffer;
}
type Answer = { status: number; json: unknown; type?: string };

let server: Server;
let base = '';
let dir = '';
let seen: Seen[] = [];
let answers: ((req: Seen) => Answer)[] = [];

const problem = (status: number, code: Parameters<typeof problemBody>[1], detail: string, extra = {}) => ({
  status,
  type: 'application/problem+json',
  json: problemBody(status, code, detail, undefined, extra),
});

const PREDICTION = {
  ensemble: 'spam',
  version: 3,
  strategy: 'soft',
  predictions: [
    {
      label: 'spam',
      probabilities: { ham: 0.1, spam: 0.9 },
      uncertainty: { entropy: 0.33, margin: 0.8, disagreement: 0 },
      abstained: [],
    },
  ],
  ran: ['a'],
  degraded: [],
  usage: { units: 1, inputs: 1 },
};

const chorus = (args: string[]) => runChorus(args, { CHORUS_URL: base, CHORUS_KEY: 'chorus_test' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chorus-cli-unit-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        auth: req.headers.authorization ?? '',
        body: Buffer.concat(chunks),
      };
      seen.push(request);
      const answer = answers.shift()?.(request) ?? problem(500, 'internal', 'no answer scripted');
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' });
      res.end(JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  answers = [];
});

describe('chorus over HTTP', () => {
  // ISO-8859-1 bytes (é = 0xE9, £ = 0xA3) that UTF-8 decoding would replace with U+FFFD
  const latin1 = Buffer.from(
    'Subject: Gagnez £1000\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nVous êtes sélectionné !\r\n',
    'latin1',
  );

  it('one .eml goes as raw message/rfc822, byte for byte, with the key as a bearer token', async () => {
    await writeFile(join(dir, 'fr.eml'), latin1);
    answers = [() => ({ status: 200, json: PREDICTION })];
    const ran = await chorus(['--json', 'predict', 'spam', '--eml', join(dir, 'fr.eml'), '-s', 'soft', '-m']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual(PREDICTION);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/ensembles/spam/predict?strategy=soft&return_members=true',
      type: 'message/rfc822',
      auth: 'Bearer chorus_test',
    });
    expect(seen[0]?.body.equals(latin1)).toBe(true);
  });

  it('a server that refuses raw bodies gets the mail as JSON for the text field its manifest names', async () => {
    const manifest = JSON.parse(await readFile('models/spam/manifest.json', 'utf8')) as unknown;
    answers = [
      () => problem(415, 'unsupported_media_type', "expected application/json, got 'message/rfc822'"),
      () => ({ status: 200, json: manifest }),
      () => ({ status: 200, json: PREDICTION }),
    ];
    await writeFile(join(dir, 'plain.eml'), 'Subject: hi\r\n\r\nlunch?\r\n');
    const ran = await chorus(['predict', 'spam', '--eml', join(dir, 'plain.eml')]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url} ${s.type}`)).toEqual([
      'POST /v1/ensembles/spam/predict message/rfc822',
      'GET /v1/ensembles/spam ',
      'POST /v1/ensembles/spam/predict application/json',
    ]);
    expect(JSON.parse(seen[2]?.body.toString() ?? '')).toEqual({
      inputs: [{ message: 'Subject: hi\r\n\r\nlunch?\r\n' }],
    });
    expect(ran.stdout).toBe(
      '  0  spam       ham=0.1000 spam=0.9000  entropy=0.330\nspam v3 soft, 1 members ran, 1 units\n',
    );
  });

  it('a 4xx problem is one stderr line with its code and first zod issue, exit 2', async () => {
    answers = [
      () =>
        problem(400, 'validation_failed', 'the request does not match the schema', {
          issues: [{ path: ['inputs', 0, 'message'], message: 'expected string', code: 'invalid_type' }],
        }),
    ];
    const ran = await chorus(['predict', 'spam', '--field', 'message=hi']);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      'chorus: 400 validation_failed: the request does not match the schema: inputs.0.message: expected string (POST /v1/ensembles/spam/predict)\n',
    );
  });

  it('a 5xx problem or an answer that breaks the schema is exit 3; a missing file exit 1', async () => {
    answers = [() => problem(503, 'no_healthy_member', 'only 1 of 4 members answered')];
    const down = await chorus(['predict', 'spam', '--field', 'message=hi']);
    expect([down.code, down.stderr]).toEqual([
      3,
      'chorus: 503 no_healthy_member: only 1 of 4 members answered (POST /v1/ensembles/spam/predict)\n',
    ]);
    answers = [() => ({ status: 200, json: { ensembles: [{ name: 'spam' }] } })];
    const odd = await chorus(['ensembles', 'list']);
    expect([odd.code, odd.stderr]).toEqual([
      3,
      'chorus: unexpected answer to GET /v1/ensembles: ensembles.0.version: Invalid input: expected number, received undefined\n',
    ]);
    const missing = await chorus(['ensembles', 'publish', join(dir, 'nowhere.json')]);
    expect(missing.code).toBe(1);
    expect(seen).toHaveLength(2);
  });

  it('jobs follow ends with 0 succeeded, 4 failed, 5 gated; a 5xx read is retried, a 404 is not', async () => {
    const status = (phase: string, extra = {}) => ({
      status: 200,
      json: {
        id: 'job-0001',
        kind: 'fit-weights',
        ensemble: 'spam',
        phase,
        progress: phase === 'running' ? 0.5 : 1,
        step: phase,
        attempts: 1,
        updatedAt: '2026-11-23T12:00:00.000Z',
        ...extra,
      },
    });
    const outcomes: [string, object, number, string][] = [
      ['succeeded', { publishedVersion: 4 }, 0, ''],
      ['failed', { error: 'dataset missing' }, 4, 'chorus: job job-0001 failed: dataset missing'],
      ['gated', { gate: { passed: false, detail: 'log-loss +0.02' } }, 5, 'chorus: job job-0001 gated: log-loss +0.02'],
    ];
    for (const [phase, extra, code, line] of outcomes) {
      answers = [() => status('running'), () => status(phase, extra)];
      const ran = await chorus(['jobs', 'follow', 'job-0001', '--interval', '1']);
      expect(ran.code, ran.stderr).toBe(code);
      expect(ran.stdout).toMatch(new RegExp(`^job job-0001 \\(fit-weights on spam\\): ${phase} 100 %`));
      // progress lines on stderr (not a terminal), then the one error line
      expect(ran.stderr).toMatch(/^job job-0001 50\/100 % running running\n/);
      expect(ran.stderr.split('\n').filter((l) => l.startsWith('chorus:'))).toEqual(line ? [line] : []);
    }
    // a failed read while polling is retried (the job runs on); a 4xx ends the follow at once
    answers = [
      () => status('running'),
      () => problem(500, 'internal', 'status.json half-written'),
      () => status('succeeded'),
    ];
    const retried = await chorus(['jobs', 'follow', 'job-0001', '--interval', '1']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(
      /\(retrying 1\/5: 500 internal: status\.json half-written \(GET \/v1\/jobs\/job-0001\)\)\n/,
    );
    answers = [() => problem(404, 'not_found', 'no job job-0002')];
    const unknown = await chorus(['jobs', 'follow', 'job-0002', '--interval', '1']);
    expect([unknown.code, unknown.stderr.trimEnd().split('\n').at(-1)]).toEqual([
      2,
      'chorus: 404 not_found: no job job-0002 (GET /v1/jobs/job-0002)',
    ]);
  });
});
