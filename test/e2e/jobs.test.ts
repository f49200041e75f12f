import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSpamDatasets } from '../../infra/datasets';
import type { Stack } from '../../infra/local-stack';
import { parseEmail } from '../../lib/features';
import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import { EnsembleManifestSchema } from '../../lib/schema';
import { jobKeys, scoreCacheKey, sha256Hex } from '../../lib/store';
import { inspectReport } from '../browser/report-page';
import { sklearnLikeTextPipeline, textPipelineProbability } from '../helpers/skl-like';
import { publishTorchEnsemble, unlabeledCopy } from './fixtures';
import { DEV_JOB_SECRET, jobsClient } from './jobs-client';
import { startTestStack } from './ports';

let stack: Stack;
let client: ReturnType<typeof jobsClient>;
let data: Record<string, string>;
/**
 * The whole job split (infra/datasets.ts: train, the zoo's fit rows; validation, half of the zoo's
 * test split, 607 rows). On the 160-row subset every fusion of the zoo is already near perfect, so a
 * gain over the best member is measurable only on the whole split.
 */
let full: Record<string, string>;
let reportUrl = '';
const zoo = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));

beforeAll(async () => {
  stack = await startTestStack('jobs');
  client = jobsClient(stack);
  data = await seedSpamDatasets(stack.store, { limit: 160, prefix: 'datasets/spam-small' });
  full = await seedSpamDatasets(stack.store, { prefix: 'datasets/spam-full' });
});

afterAll(async () => {
  await stack?.stop();
});

describe('jobs through the edge, run by the container, artifacts in S3', () => {
  it('the container refuses unsigned and stale job submissions', async () => {
    const body = JSON.stringify({
      id: 'abcdefgh-1',
      spec: { kind: 'fit-weights', ensemble: 'spam', validation: data.validation, method: 'accuracy' },
    });
    const unsigned = await fetch(`${stack.containerUrl}/jobs`, { method: 'POST', body });
    expect(unsigned.status).toBe(401);
    const stale = await client.container('POST', '/jobs', body, Date.now() - 3_600_000);
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { detail: string }).detail).toMatch(/stale/);
  });

  it('the container caps a body before reading it, and a replayed signed submission runs nothing twice', async () => {
    const huge = await fetch(`${stack.containerUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(16 << 20),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { code: string }).code).toBe('payload_too_large');
    const body = JSON.stringify({
      id: 'replayed-job-1',
      spec: { kind: 'fit-weights', ensemble: 'spam', validation: data.validation, method: 'accuracy', publish: false },
    });
    const signature = await signRequest(DEV_JOB_SECRET, 'POST', '/jobs', body);
    const send = () =>
      fetch(`${stack.containerUrl}/jobs`, { method: 'POST', headers: { [SIGNATURE_HEADER]: signature }, body });
    const [first, replay] = [await send(), await send()];
    expect([first.status, replay.status]).toEqual([202, 202]);
    const done = await client.waitUntil('replayed-job-1');
    expect(done.attempts).toBe(1);
    const late = await send(); // the same bytes after the job finished: its status, no new run
    expect(((await late.json()) as { phase: string; attempts: number }).attempts).toBe(1);
  });

  it('the container answers problem+json from the shared problemBody: 400 for a bad spec, 404 for an unknown job', async () => {
    const body = JSON.stringify({ id: 'abcdefgh-2', spec: { kind: 'stack', ensemble: 'spam', folds: 1 } });
    const bad = await client.container('POST', '/jobs', body);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await bad.json()).toMatchObject({
      status: 400,
      title: 'Bad Request',
      code: 'validation_failed',
      instance: '/jobs',
    });
    const unknown = await client.container('GET', '/jobs/no-such-job-1');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: 404, code: 'not_found', instance: '/jobs/no-such-job-1' });
  });

  it('rejects unknown job kinds and fields with 400', async () => {
    const kind = await client.admin('POST', '/v1/jobs', { kind: 'magic', ensemble: 'spam' });
    expect(kind.status).toBe(400);
    const field = await client.admin('POST', '/v1/jobs', {
      kind: 'fit-weights',
      ensemble: 'spam',
      validation: data.validation,
      method: 'accuracy',
      colour: 1,
    });
    expect(field.status).toBe(400);
  });

  it('fit-weights publishes a new version that the edge serves; the report is stored', async () => {
    // The base answers by an uncalibrated equal-weight soft vote; ensemble selection with its
    // fitted temperature beats it on validation (the rows it was fitted on: fit-weights has one split).
    const { quorum, prior } = zoo.fusion;
    await client.publish({ ...zoo, name: 'spam-fw', fusion: { strategy: 'soft', temperature: 1, quorum, prior } });
    const id = await client.submit({
      kind: 'fit-weights',
      ensemble: 'spam-fw',
      validation: data.validation as string,
      method: 'ensemble-selection',
      gate: { maxLogLossIncrease: 0 },
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error).toBe('succeeded');
    expect(s.executionProvider).toBe('cpu');
    expect(s.publishedVersion).toBe(2);
    expect((await client.predictVersion('spam-fw')).version).toBe(2);
    const manifest = await client.manifest('spam-fw');
    expect(manifest.fusion.weightsFrom).toBe('ensemble-selection');
    expect(manifest.fusion.calibration?.soft?.temperature).toBe(manifest.fusion.temperature);
    expect(manifest.provenance.jobId).toBe(id);
    const report = await fetch(`${stack.edgeUrl}/v1/jobs/${id}/report`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(report.headers.get('content-type')).toMatch(/text\/html/);
    const html = await report.text();
    expect(html).toContain('data-chart="pareto"');
    await client.report(id);
    // the page as the edge served it (reading it needs a credential the browser does not carry)
    reportUrl = `data:text/html;base64,${Buffer.from(html).toString('base64')}`;
    // member outputs are cached per (model sha256, dataset hash) for the next job
    const validation = await stack.store.get(data.validation as string);
    const hash = await sha256Hex(validation ?? new Uint8Array());
    for (const m of zoo.members) expect(await stack.store.head(scoreCacheKey(m.model.sha256, hash))).not.toBeNull();
  });

  it('fit-weights runs a skl2onnx text pipeline member (string input, ZipMap) in the container', async () => {
    // onnxruntime-node, not the edge's runtime: the report's member figure is what the pipeline's
    // arithmetic gives on the same bodies
    const pipeline = {
      vocabulary: ['free', 'money', 'click', 'remove', 'offer', 'wrote', 'thanks', 'list'],
      idf: [1.6, 1.8, 1.7, 1.9, 1.8, 1.5, 1.4, 1.2],
      coef: [2.0, 2.2, 1.8, 2.4, 1.6, -2.2, -1.8, -1.0],
      intercept: -0.4,
    };
    const model = await client.uploadModel(sklearnLikeTextPipeline(pipeline, ['ham', 'spam']));
    const bodyLogreg = zoo.members.find((m) => m.id === 'body-logreg');
    const text = {
      id: 'sk-tfidf',
      model,
      featurizer: { kind: 'text', field: 'message', view: 'body', maxLength: 20_000 },
      inputName: 'input',
      outputName: 'output_probability',
      output: 'probabilities',
    };
    const { labels, input, provenance } = zoo;
    const manifest = { name: 'spam-sk', version: 1, task: 'classification', labels, input, provenance };
    await client.publish(
      EnsembleManifestSchema.parse({ ...manifest, members: [bodyLogreg, text], fusion: { strategy: 'soft' } }),
    );
    const id = await client.submit({
      kind: 'fit-weights',
      ensemble: 'spam-sk',
      validation: data.validation as string,
      method: 'accuracy',
      publish: false,
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error).toBe('succeeded');
    const row = (await client.report(id)).rows.find((r) => r.name === 'sk-tfidf' && r.kind === 'member');
    const rows = new TextDecoder()
      .decode((await stack.store.get(data.validation as string)) ?? new Uint8Array())
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { input: { message: string }; label: string });
    let loss = 0;
    for (const r of rows) {
      const spam = textPipelineProbability(pipeline, (await parseEmail(r.input.message)).body);
      loss -= Math.log(r.label === 'spam' ? spam : 1 - spam);
    }
    expect(row?.logLoss).toBeCloseTo(loss / rows.length, 4);
  });

  it("the report page renders in Debian's chromium with its charts drawn", async () => {
    const drawn = await inspectReport(reportUrl, join(process.cwd(), '.cache/report-fit-weights.png'));
    expect(drawn.charts).toEqual(expect.arrayContaining(['Accuracy (validation)', 'reliability', 'pareto']));
    expect(drawn.charts.length).toBeGreaterThanOrEqual(6);
    // every chart occupies real space on the page and has marks in it
    for (const c of drawn.boxes) expect(c.width * c.height).toBeGreaterThan(1000);
    expect(drawn.bars).toBeGreaterThanOrEqual(zoo.members.length + 2);
    expect(drawn.paretoPoints).toBe(zoo.members.length + 2);
    expect(drawn.reliabilityCurves).toBe(2);
    expect(drawn.gate).toMatch(/Quality gate passed/);
  });

  it('stack serves the refits its meta-learner was fitted for and publishes when it beats the version it replaces', async () => {
    // The base answers the zoo's soft vote flattened by temperature 5 (every answer near 0.5, log-loss
    // ≈ 0.5): stacking on 160 train rows beats it. (Five members' hard vote, the base this used, is
    // now better calibrated than that stack.)
    await client.publish({ ...zoo, name: 'spam-stack', fusion: { strategy: 'soft', temperature: 5, quorum: 1 } });
    const id = await client.submit({
      kind: 'stack',
      ensemble: 'spam-stack',
      train: data.train as string,
      validation: data.validation as string,
      folds: 3,
      gate: { minLogLossGain: 0.05 },
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error ?? s.gate?.detail).toBe('succeeded');
    expect(await client.version('spam-stack')).toBe(2);
    expect((await client.predictVersion('spam-stack')).version).toBe(2);
    const manifest = await client.manifest('spam-stack');
    expect(manifest.fusion.strategy).toBe('stacking');
    expect(manifest.fusion.metaLearner?.members).toEqual(zoo.members.map((m) => m.id));
    // every zoo member is trainable: each is served as its refit on the job's train rows
    for (const [i, m] of manifest.members.entries()) {
      expect(m.model.sha256).not.toBe(zoo.members[i]?.model.sha256);
      expect(await stack.store.head(m.model.key)).not.toBeNull();
    }
    const report = await client.report(id);
    expect(report.notes.join(' ')).toMatch(/refit on all train rows/);
    // held-out validation log-loss of the stacked refits: 2.14 when the meta-learner was applied
    // to members other than those it was fitted for
    const candidate = report.rows.find((r) => r.kind === 'candidate');
    expect(candidate?.logLoss).toBeLessThan(0.5);
  });

  it('a job whose gate fails keeps its artifacts and leaves the version unchanged', async () => {
    // Refits on 160 train rows do not beat the zoo's members trained on the whole train split.
    await client.publish({ ...zoo, name: 'spam-gate' });
    const id = await client.submit({
      kind: 'stack',
      ensemble: 'spam-gate',
      train: data.train as string,
      validation: data.validation as string,
      folds: 3,
      gate: { minLogLossGain: 0 },
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error).toBe('gated');
    expect(s.gate?.passed).toBe(false);
    expect(s.gate?.detail).toMatch(/validation log-loss .* vs current/);
    expect(await client.version('spam-gate')).toBe(1);
    expect(await stack.store.head(jobKeys(id).candidate)).not.toBeNull();
    const report = await client.report(id);
    expect(report.notes.join(' ')).toMatch(/grouped by near-duplicate key/);
  });

  it('compress turns an fp32 member into int8, re-measures it and publishes when within the gate', async () => {
    const model = await client.uploadModel(await readFile('models/spam/headers-logreg.fp32.onnx'));
    const members = zoo.members.map((m) => (m.id === 'headers-logreg' ? { ...m, model, variant: 'fp32' as const } : m));
    await client.publish({ ...zoo, name: 'spam-compress', members });
    const id = await client.submit({
      kind: 'compress',
      ensemble: 'spam-compress',
      member: 'headers-logreg',
      validation: data.validation as string,
      gate: { maxAccuracyLoss: 0.02 },
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error).toBe('succeeded');
    const manifest = await client.manifest('spam-compress');
    const compressed = manifest.members.find((m) => m.id === 'headers-logreg');
    expect(compressed?.variant).toBe('int8');
    expect(compressed?.model.bytes).toBeLessThan(0.3 * model.bytes);
    expect((await client.predictVersion('spam-compress')).version).toBe(2);
  });

  it('distill trains a student from the ensemble (with unlabeled transfer data) and publishes it alone', async () => {
    // The teacher: the zoo's three narrow members (headers, body characters, URLs) pooled in log
    // space (geometric, no temperature fitted), which beats the best of them on the whole validation
    // split (measured: 0.062 against 0.093). A student that reads every view of the message, learning
    // from the teacher on the whole train split, recovers that gain and more (0.038): the job's
    // default bar, 80 %, holds. (The full zoo's stacking beats message-logreg, a logistic regression
    // over the same words with 4× the student's buckets, by too little for a 16-dimensional fastText
    // student to recover: the gate case below.)
    const narrow = ['headers-logreg', 'body-chars-fasttext', 'urls-logreg'];
    await client.publish({
      ...zoo,
      name: 'spam-distill',
      members: zoo.members.filter((m) => narrow.includes(m.id)),
      fusion: {
        strategy: 'geometric',
        temperature: 1,
        quorum: 1,
        requireAnyOf: narrow.filter((id) => zoo.fusion.requireAnyOf?.includes(id)),
        ...(zoo.fusion.prior ? { prior: zoo.fusion.prior } : {}),
      },
    });
    // unlabeled transfer rows: the test subset without its labels
    const transfer = await unlabeledCopy(stack.store, data.test as string, 'datasets/spam-small/transfer.jsonl');
    const id = await client.submit({
      kind: 'distill',
      ensemble: 'spam-distill',
      train: full.train as string,
      transfer,
      validation: full.validation as string,
      epochs: 15,
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error ?? s.gate?.detail).toBe('succeeded');
    expect(s.gate?.detail).toMatch(/student recovers .* required ≥ 80 %/);
    const answer = await client.predictVersion('spam-distill');
    expect(answer.version).toBe(2);
    expect(answer.ran).toEqual(['student']);
    expect((await client.report(id)).notes.join(' ')).toMatch(/160 unlabeled transfer/);
  });

  it('build-members grows boosted members (SAMME) and refits the weights', async () => {
    await client.publish({ ...zoo, name: 'spam-grow' });
    const id = await client.submit({
      kind: 'build-members',
      ensemble: 'spam-grow',
      like: 'urls-logreg',
      train: data.train as string,
      validation: data.validation as string,
      method: 'boosting',
      count: 2,
      gate: { maxLogLossIncrease: 0.05 },
    });
    const s = await client.waitUntil(id);
    expect(s.phase, s.error).toBe('succeeded');
    const manifest = await client.manifest('spam-grow');
    expect(manifest.members.map((m) => m.id)).toEqual([
      ...zoo.members.map((m) => m.id),
      'urls-logreg-boost1',
      'urls-logreg-boost2',
    ]);
    expect(manifest.fusion.weightsFrom).toBe('ensemble-selection');
    // a message with evidence for every member (subject, body words, a URL): the zoo's and both new ones run
    const res = await client.predict('spam-grow', [
      { message: 'Subject: hello\r\n\r\nlunch tomorrow? the menu is at https://food.example/menu today' },
    ]);
    expect(((await res.json()) as { ran: string[] }).ran).toHaveLength(zoo.members.length + 2);
  });

  it('distill makes an MLP student for a tensor-input ensemble (a PyTorch model as teacher); with no gain to recover its gate fails', async () => {
    await publishTorchEnsemble(stack, client);
    const id = await client.submit({
      kind: 'distill',
      ensemble: 'bc',
      train: 'datasets/bc/train.jsonl',
      validation: 'datasets/bc/validation.jsonl',
      gate: { minGainRecovered: -100 },
    });
    const s = await client.waitUntil(id);
    // One member: the ensemble cannot beat its best member, so "gain recovered" is undefined and
    // no bar, however low, passes; the student is kept as the job's candidate, nothing is published.
    expect(s.phase, s.error).toBe('gated');
    expect(s.gate?.passed).toBe(false);
    expect(s.gate?.detail).toMatch(/undefined/);
    expect(await client.version('bc')).toBe(1);
    const candidate = EnsembleManifestSchema.parse(
      JSON.parse(new TextDecoder().decode((await stack.store.get(jobKeys(id).candidate)) ?? new Uint8Array())),
    );
    expect(candidate.members[0]?.family).toBe('mlp');
    const row = (await readFile('test/fixtures/byo/breast-cancer-validation.jsonl', 'utf8')).split('\n')[0] as string;
    const res = await client.predict('bc', [JSON.parse(row).input]);
    expect(res.status).toBe(200);
  });

  it("every job kind's gate also fails when its bar is not met: gated, version unchanged, reason stated", async () => {
    const cases = [
      {
        // accuracy-proportional soft weights at their fitted temperature gain 0.011 on the zoo's
        // stacking (measured in-sample, the spec gives one split): short of a required 0.05
        kind: 'fit-weights' as const,
        validation: data.validation as string,
        method: 'accuracy' as const,
        gate: { minLogLossGain: 0.05 },
      },
      {
        // the header member alone, pruned to its largest 5 % of weights, loses accuracy (inside the
        // five-member vote one member's loss can be no loss at all)
        kind: 'compress' as const,
        member: 'headers-logreg',
        validation: full.validation as string,
        prune: 0.95,
        gate: { maxAccuracyLoss: 0 },
      },
      {
        kind: 'build-members' as const,
        like: 'urls-logreg',
        train: data.train as string,
        // a bagged member and weights refitted on one half of the whole split gain 0.006 on the zoo's
        // stacking on the other half: short of a required 0.05
        validation: full.validation as string,
        method: 'bagging' as const,
        count: 1,
        gate: { minLogLossGain: 0.05 },
      },
      {
        kind: 'distill' as const,
        train: data.train as string,
        validation: full.validation as string,
        initFrom: 'body-chars-fasttext',
        epochs: 1,
        gate: { minGainRecovered: 1 },
      },
    ];
    const fp32 = await client.uploadModel(await readFile('models/spam/headers-logreg.fp32.onnx'));
    for (const spec of cases) {
      const ensemble = `spam-fail-${spec.kind}`;
      // compress: the fp32 header member alone, to quantize and prune
      const header = zoo.members.find((m) => m.id === 'headers-logreg');
      if (!header) throw new Error('the zoo has a header member');
      const alone = { ...header, model: fp32, variant: 'fp32' as const };
      const members = spec.kind === 'compress' ? [alone] : zoo.members;
      // distill: a stacking teacher beats its best member, so the bar (not an undefined gain) fails it;
      // fit-weights and build-members: the soft weights they fit are measured against the zoo answering by stacking
      const fusion =
        spec.kind === 'compress'
          ? { strategy: 'soft' as const, temperature: 1, quorum: 1 }
          : { ...zoo.fusion, strategy: 'stacking' as const };
      await client.publish({ ...zoo, name: ensemble, members, fusion });
      const s = await client.waitUntil(await client.submit({ ...spec, ensemble }));
      expect(s.phase, `${spec.kind}: ${s.error ?? s.gate?.detail}`).toBe('gated');
      expect(s.gate?.passed).toBe(false);
      expect(s.gate?.detail.length).toBeGreaterThan(0);
      if (spec.kind === 'distill') expect(s.gate?.detail).toMatch(/student recovers/);
      expect(await client.version(ensemble)).toBe(1);
    }
  });

  it('a container killed mid-job publishes nothing partial; on restart the job resumes, or fails once attempts are spent', async () => {
    await client.publish({ ...zoo, name: 'spam-crash' });
    // Slow each job step down so the kill lands mid-job however fast the machine is.
    await stack.killContainer();
    await stack.startContainer({ CHORUS_JOB_STEP_DELAY_MS: '1500' });
    const spec = {
      kind: 'stack' as const,
      ensemble: 'spam-crash',
      train: data.train as string,
      validation: data.validation as string,
      folds: 3,
    };
    const first = await client.submit(spec);
    await client.waitUntil(first, (s) => s.phase === 'running' && s.progress > 0.1, 60_000);
    await stack.killContainer();
    expect(await client.version('spam-crash')).toBe(1);
    expect((await client.status(first)).phase).toBe('running');
    await stack.startContainer();
    const resumed = await client.waitUntil(first);
    expect(resumed.attempts).toBe(2);
    expect(['succeeded', 'gated']).toContain(resumed.phase);
    expect(await client.version('spam-crash')).toBe(resumed.phase === 'succeeded' ? 2 : 1);

    await stack.killContainer();
    await stack.startContainer({ CHORUS_JOB_STEP_DELAY_MS: '1500' });
    const second = await client.submit({ ...spec, gate: { minLogLossGain: 10 } });
    await client.waitUntil(second, (s) => s.phase === 'running' && s.progress > 0.1, 60_000);
    await stack.killContainer();
    await stack.startContainer({ MAX_JOB_ATTEMPTS: '1' });
    const failed = await client.waitUntil(second, undefined, 30_000);
    expect(failed.phase).toBe('failed');
    expect(failed.error).toMatch(/container stopped during the job/);
    expect(await client.version('spam-crash')).toBe(resumed.phase === 'succeeded' ? 2 : 1);
    await stack.killContainer();
    await stack.startContainer();
  });
});
