/**
 * The `chorus` CLI drives a whole operator session against the local stack (s3rver + wrangler dev
 * + the container), each step a real process through node_modules/.bin/chorus: exit codes, stdout
 * (--json parsed with the shared schemas) and the one-line problem on stderr are asserted.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSpamDatasets } from '../../infra/datasets';
import type { Stack } from '../../infra/local-stack';
import {
  ArchiveStateSchema,
  EnsembleManifestSchema,
  JobStatusSchema,
  ManifestDiffSchema,
  PredictResponseSchema,
  VersionListSchema,
} from '../../lib/schema';
import { sha256Hex } from '../../lib/store';
import { type ChorusRun, runChorus } from './chorus-bin';
import { freePort, startTestStack } from './ports';

let stack: Stack;
let dir: string;
let data: Record<string, string>;
const zoo = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));

type Ran = ChorusRun;

/** One `chorus` process with CHORUS_URL / CHORUS_KEY from the env (the admin key unless told). */
const chorus = (args: string[], options: { key?: string; stdin?: string } = {}): Promise<Ran> =>
  runChorus(args, { CHORUS_URL: stack.edgeUrl, CHORUS_KEY: options.key ?? stack.adminKey }, options.stdin);

/** The problem line: progress lines (non-TTY) may come before it on stderr. */
const lastLine = (r: Ran): string => r.stderr.trimEnd().split('\n').at(-1) ?? '';

const json = (r: Ran): unknown => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

const SPAM =
  'Subject: You WON a FREE prize!!!\r\n\r\nClick http://claim.example.biz/now to claim $1000 cash today!\r\n';

beforeAll(async () => {
  stack = await startTestStack('cli');
  dir = await mkdtemp(join(tmpdir(), 'chorus-cli-'));
  data = await seedSpamDatasets(stack.store, { limit: 160, prefix: 'datasets/spam-cli' });
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('chorus: a session over the public HTTP API', () => {
  const file = (name: string) => join(dir, name);
  let uploaded: { key: string; sha256: string; bytes: number };

  it('models upload stores the file content-addressed; a file that is not ONNX is refused with its code', async () => {
    const onnx = 'models/spam/headers-logreg.fp32.onnx';
    uploaded = json(await chorus(['--json', 'models', 'upload', onnx])) as typeof uploaded;
    const sha256 = await sha256Hex(new Uint8Array(await readFile(onnx)));
    expect(uploaded).toMatchObject({ sha256, key: `models/${sha256}.onnx`, bytes: (await readFile(onnx)).length });

    await writeFile(file('notes.onnx'), 'these are not the weights you are looking for');
    const bad = await chorus(['models', 'upload', file('notes.onnx')]);
    expect(bad.code).toBe(2);
    expect(lastLine(bad)).toMatch(/^chorus: 400 not_onnx: onnxruntime cannot load this model.* \(PUT \/v1\/models\)$/);
    const missing = await chorus(['models', 'upload', file('nowhere.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nowhere\.onnx: ENOENT/);
  });

  it('ensembles publish: v1 from the uploaded model, v2 (--bump) the whole zoo; a broken manifest is a usage error', async () => {
    const [headers, body] = zoo.members;
    if (!headers || !body) throw new Error('the zoo has fewer than two members');
    const v1 = {
      ...zoo,
      name: 'cli',
      version: 1,
      members: [
        { ...headers, variant: 'fp32', model: { key: uploaded.key, sha256: uploaded.sha256, bytes: uploaded.bytes } },
        body,
      ],
      fusion: { strategy: 'soft' },
    };
    await writeFile(file('v1.json'), JSON.stringify(v1));
    const first = await chorus(['ensembles', 'publish', file('v1.json')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('cli: published v1 (was v0)\n');
    await writeFile(file('v2.json'), JSON.stringify({ ...zoo, name: 'cli', version: 1 }));
    expect(json(await chorus(['--json', 'ensembles', 'publish', '--bump', file('v2.json')]))).toEqual({
      name: 'cli',
      version: 2,
      previous: 1,
    });
    const conflict = await chorus(['ensembles', 'publish', file('v2.json')]);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toMatch(/409 version_conflict/);

    await writeFile(file('broken.json'), '{"name": "cli", ');
    const broken = await chorus(['ensembles', 'publish', file('broken.json')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.json is not JSON/);
    await writeFile(file('wrong.json'), JSON.stringify({ ...zoo, members: [] }));
    expect((await chorus(['ensembles', 'publish', file('wrong.json')])).code).toBe(1);

    const listed = json(await chorus(['--json', 'ensembles', 'list'])) as { ensembles: { name: string }[] };
    expect(listed.ensembles.map((e) => e.name)).toEqual(expect.arrayContaining(['spam', 'cli']));
    const manifest = EnsembleManifestSchema.parse(json(await chorus(['--json', 'ensembles', 'get', 'cli', '-v', '1'])));
    expect(manifest.members[0]?.model.key).toBe(uploaded.key);
    const summary = await chorus(['ensembles', 'get', 'cli']);
    expect(summary.stdout).toMatch(
      new RegExp(
        `^cli v2 {2}classification {2}labels: ham, spam\ninput: message \\(text/rfc822\\)\nfusion: ${zoo.fusion.strategy}`,
      ),
    );
  });

  it('predict: an .eml from disk (raw message/rfc822), the same mail as a JSON input on stdin, and a text argument', async () => {
    await writeFile(file('prize.eml'), SPAM);
    const raw = PredictResponseSchema.parse(
      json(await chorus(['--json', 'predict', 'cli', '--eml', file('prize.eml')])),
    );
    expect(raw).toMatchObject({ ensemble: 'cli', version: 2 });
    expect(raw.predictions[0]?.label).toBe('spam');
    const stdin = JSON.stringify({ inputs: [{ message: SPAM }] });
    const piped = PredictResponseSchema.parse(json(await chorus(['--json', 'predict', 'cli', '-'], { stdin })));
    expect(piped.predictions[0]?.probabilities.spam).toBeCloseTo(raw.predictions[0]?.probabilities.spam ?? -1, 6);
    const human = await chorus(['predict', 'cli', 'Subject: lunch\n\nsee you at noon tomorrow?', '--members']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ {2}0 {2}(ham|spam) +ham=0\.\d{4} spam=0\.\d{4} {2}entropy=/);
    expect(human.stdout).toMatch(new RegExp(`\ncli v2 ${zoo.fusion.strategy}, \\d members ran, [\\d.]+ units\n$`));
  });

  it('a bad key is refused with a one-line problem and exit code 2; an unreachable server is exit code 3', async () => {
    const bad = await chorus(['predict', 'cli', 'hello'], { key: 'chorus_not-a-key' });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^chorus: 401 unauthorized: /);
    const port = await freePort();
    const down = await chorus(['--url', `http://127.0.0.1:${port}`, 'ensembles', 'list']);
    expect(down.code).toBe(3);
    expect(down.stderr).toBe(`chorus: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
    const usage = await chorus(['ensembles', 'rollback', 'cli', 'latest']);
    expect(usage.code).toBe(1);
  });

  let jobId = '';
  it('jobs submit + follow: the exit code says how the job ended; the report is saved', async () => {
    const spec = { kind: 'fit-weights', ensemble: 'cli', validation: data.validation, method: 'accuracy' };
    await writeFile(file('job.json'), JSON.stringify(spec));
    const submitted = json(await chorus(['--json', 'jobs', 'submit', file('job.json')])) as { id: string };
    jobId = submitted.id;
    const followed = await chorus(['--json', 'jobs', 'follow', jobId, '--interval', '200']);
    expect(followed.stdout, followed.stderr).not.toBe('');
    const status = JobStatusSchema.parse(JSON.parse(followed.stdout));
    expect(status.id).toBe(jobId);
    // the job runs to its gate (either verdict); a failed job would be a defect here
    expect(['succeeded', 'gated'], JSON.stringify(status.error ?? null)).toContain(status.phase);
    expect(followed.code, followed.stderr).toBe({ succeeded: 0, gated: 5, failed: 4 }[status.phase as string]);
    expect(followed.stderr).toMatch(new RegExp(`^job ${jobId.slice(0, 8)} \\d+/100 % (queued|running)`));
    const report = await chorus(['jobs', 'report', jobId, '-o', file('report.html')]);
    expect(report.code, report.stderr).toBe(0);
    const html = await readFile(file('report.html'), 'utf8');
    expect(html).toMatch(/<html/i);
    expect(html).toContain(jobId);
    const bogus = await chorus(['jobs', 'follow', 'no-such-job-1']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/404 not_found/);
  });

  it('versions (provenance) and diff, then rollback to v1', async () => {
    const versions = VersionListSchema.parse(json(await chorus(['--json', 'ensembles', 'versions', 'cli'])));
    expect(versions.versions.slice(0, 2).map((v) => [v.version, v.members])).toEqual([
      [1, 2],
      [2, zoo.members.length],
    ]);
    const diff = ManifestDiffSchema.parse(json(await chorus(['--json', 'ensembles', 'diff', 'cli', '1', '2'])));
    expect(diff.members.added).toEqual(zoo.members.slice(2).map((m) => m.id));
    expect(diff.members.changed.map((c) => c.id)).toContain(zoo.members[0]?.id);
    const rolled = await chorus(['ensembles', 'rollback', 'cli', '1']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toMatch(/^cli: now v1 \(was v\d\)\n$/);
    const human = await chorus(['ensembles', 'versions', 'cli']);
    expect(human.stdout).toMatch(/^cli: current v1\n\* v1 {4}\S+ {2}by key_\w+ {2}2 members\n {2}v2 /);
    const changes = (await chorus(['ensembles', 'diff', 'cli', '1', '2'])).stdout;
    expect(changes).toMatch(/^cli: v1 → v2\n/);
    expect(changes).toContain(`  + member ${zoo.members[2]?.id}\n`);
    const after = PredictResponseSchema.parse(
      json(await chorus(['--json', 'predict', 'cli', '--eml', file('prize.eml')])),
    );
    expect(after.version).toBe(1);
  });

  it('archive stops serving (predict exits 2 with the code), restore serves the same version again', async () => {
    expect(ArchiveStateSchema.parse(json(await chorus(['--json', 'ensembles', 'archive', 'cli'])))).toEqual({
      name: 'cli',
      archived: true,
      version: 1,
    });
    const refused = await chorus(['predict', 'cli', '--eml', file('prize.eml')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^chorus: 404 ensemble_archived: /);
    const listed = json(await chorus(['--json', 'ensembles', 'list'])) as { ensembles: { name: string }[] };
    expect(listed.ensembles.map((e) => e.name)).not.toContain('cli');
    const all = json(await chorus(['--json', 'ensembles', 'list', '--archived'])) as { ensembles: { name: string }[] };
    expect(all.ensembles.map((e) => e.name)).toContain('cli');
    const restored = await chorus(['ensembles', 'restore', 'cli']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('cli: serving at v1\n');
    const again = PredictResponseSchema.parse(
      json(await chorus(['--json', 'predict', 'cli', '--eml', file('prize.eml')])),
    );
    expect(again.version).toBe(1);
  });

  it('keys create/revoke, usage, and a batch followed to its files', async () => {
    const created = json(
      await chorus(['--json', 'keys', 'create', '--name', 'cli-test', '--scopes', 'predict', '--ensembles', 'cli']),
    ) as { id: string; key: string };
    expect((await chorus(['predict', 'cli', 'hello there'], { key: created.key })).code).toBe(0);
    const other = await chorus(['predict', 'spam', 'hello there'], { key: created.key });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/403 forbidden/);
    expect((await chorus(['keys', 'revoke', created.id])).code).toBe(0);
    const revoked = await chorus(['predict', 'cli', 'hello there'], { key: created.key });
    expect(revoked.stderr).toMatch(/401 unauthorized/);
    const usage = json(await chorus(['--json', 'usage'])) as { totals: { requests: number } };
    expect(usage.totals.requests).toBeGreaterThan(0);
    const hour = 3_600_000;
    const window = [new Date(Date.now() - hour).toISOString(), new Date(Date.now() + hour).toISOString()];
    const exported = await chorus(['usage', 'export', '--from', window[0] ?? '', '--to', window[1] ?? '']);
    expect(exported.code, exported.stderr).toBe(0);
    for (const line of exported.stdout.split('\n').filter(Boolean))
      expect(JSON.parse(line)).toHaveProperty('identifier');

    const lines = [JSON.stringify({ id: 'a', input: { message: SPAM } }), 'not json'];
    await writeFile(file('rows.jsonl'), `${lines.join('\n')}\n`);
    const batch = await chorus(['batches', 'submit', file('rows.jsonl'), '--ensemble', 'cli']);
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.stdout).toMatch(/done, parts 1\/1, 2 lines: 1 fused, 1 errors/);
    const results = (await readFile(file('rows.results.jsonl'), 'utf8')).trim().split('\n');
    expect(results.map((l) => (JSON.parse(l) as { id: string; label: string }).label)).toEqual(['spam']);
    expect(await readFile(file('rows.errors.jsonl'), 'utf8')).toMatch(/invalid_json/);
  });
});
