/** Full-zoo jobs through the real container, for BENCHMARKS.md: wall time and validation results. */
import { readFile } from 'node:fs/promises';
import type { Stack } from '../../infra/local-stack';
import type { EnsembleManifest, JobReport, JobSpecInput } from '../../lib/schema';
import { jobsClient } from '../e2e/jobs-client';

/** A job spec without the ensemble and publish flag, which each benchmark run sets. */
type BenchSpec = JobSpecInput extends infer S
  ? S extends JobSpecInput
    ? Omit<S, 'ensemble' | 'publish'>
    : never
  : never;

export async function jobsSection(
  stack: Stack,
  manifest: EnsembleManifest,
  log: (...a: unknown[]) => void,
): Promise<string> {
  const { seedSpamDatasets } = await import('../../infra/datasets');
  const data = await seedSpamDatasets(stack.store);
  const client = jobsClient(stack);
  const train = data.train as string;
  const validation = data.validation as string;
  const rowsOf = async (key: string) =>
    new TextDecoder()
      .decode((await stack.store.get(key)) ?? new Uint8Array())
      .split('\n')
      .filter((l) => l.trim()).length;
  const counts = { train: await rowsOf(train), validation: await rowsOf(validation) };
  const run = async (
    name: string,
    spec: BenchSpec,
    members = manifest.members,
    fusion = manifest.fusion,
  ): Promise<JobReport> => {
    await client.publish({ ...manifest, name, members, fusion });
    const id = await client.submit({ ...spec, ensemble: name, publish: false });
    const t = performance.now();
    const s = await client.waitUntil(id, undefined, 3_600_000);
    if (s.phase === 'failed') throw new Error(`${name}: ${s.error}`);
    log(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return client.report(id);
  };
  const fw = await run('bench-fit', { kind: 'fit-weights', validation, method: 'ensemble-selection' });
  const st = await run('bench-stack', { kind: 'stack', train, validation, folds: 5 });
  // the teacher answers by stacking, the zoo's best log-loss (the served soft vote is chosen for its decisions)
  const stacking = { ...manifest.fusion, strategy: 'stacking' as const };
  const di = await run('bench-distill', { kind: 'distill', train, validation }, manifest.members, stacking);
  const bag = await run('bench-bagging', {
    kind: 'build-members',
    like: 'headers-logreg',
    train,
    validation,
    method: 'bagging',
    count: 3,
  });
  // compress the fp32 originals of two members
  const fp32Members = [];
  for (const m of manifest.members) {
    const model = await client.uploadModel(await readFile(`models/spam/${m.id}.fp32.onnx`));
    fp32Members.push({ ...m, variant: 'fp32' as const, model });
  }
  const co = await run('bench-compress', { kind: 'compress', member: 'body-chars-fasttext', validation }, fp32Members);
  const coLinear = await run(
    'bench-compress-linear',
    { kind: 'compress', member: 'body-logreg', validation },
    fp32Members,
  );
  const cand = (r: JobReport) => r.rows.find((x) => x.kind === 'candidate');
  const ens = (r: JobReport) => r.rows.find((x) => x.kind === 'ensemble');
  const pct = (v: number | undefined) => (v === undefined ? '—' : (100 * v).toFixed(2));
  const members = fw.rows.filter((x) => x.kind === 'member');
  const bestMember = members.reduce((a, b) => (b.logLoss < a.logLoss ? b : a));
  const stackRow = cand(st);
  const fixedRow = cand(fw);
  const student = cand(di);
  const ensRow = ens(di);
  // as the distill gate reads it: undefined when the ensemble does not beat its best member
  const gain = ensRow ? bestMember.logLoss - ensRow.logLoss : Number.NaN;
  const recovered =
    student && gain > 0
      ? `recovers **${((100 * (bestMember.logLoss - student.logLoss)) / gain).toFixed(1)} %** of the ensemble's gain (target ≥ 80 %)`
      : 'gain recovered is **undefined**: the ensemble does not beat its best member';
  const compRow = (r: JobReport, id: string) => {
    const before = r.rows.find((x) => x.kind === 'member' && x.name === id);
    const after = r.rows.find((x) => x.kind === 'candidate' && x.name.startsWith(`${id} (int8`));
    return `| ${id} | ${before?.bytes ?? '—'} → ${after?.bytes ?? '—'} (${pct(after && before ? after.bytes / before.bytes : undefined)} %) | ${pct(before?.accuracy)} → ${pct(after?.accuracy)} | ${before && after ? (100 * (before.accuracy - after.accuracy)).toFixed(2) : '—'} pt | ${r.gate.passed ? 'passed' : 'failed'} |`;
  };
  return `
## Jobs on the full SpamAssassin zoo (container function, CPU)

Datasets: infra/datasets.ts writes the corpus to the bucket (train ${counts.train} rows, the zoo's fit rows;
validation ${counts.validation}, half of the zoo's test split, which no served member saw); every number
is on validation, from each job's report.json. Jobs ran with \`publish: false\`.

| job | wall time | result | gate |
|---|---:|---|---|
| fit-weights (ensemble selection, temperature) | ${fw.wallSeconds.toFixed(1)} s | log-loss ${fixedRow?.logLoss.toFixed(4)}, accuracy ${pct(fixedRow?.accuracy)} % | ${fw.gate.passed ? 'passed' : 'failed'} |
| stack (5-fold OOF, members retrained per fold) | ${st.wallSeconds.toFixed(1)} s | log-loss ${stackRow?.logLoss.toFixed(4)}, accuracy ${pct(stackRow?.accuracy)} % | ${st.gate.passed ? 'passed' : 'failed'} |
| distill (fastText student over every view, word 1-2 grams, T=2, α=0.5) | ${di.wallSeconds.toFixed(1)} s | log-loss ${student?.logLoss.toFixed(4)}, accuracy ${pct(student?.accuracy)} %, ${student?.bytes} bytes (int8) | ${di.gate.passed ? 'passed' : 'failed'} |
| build-members (3 bagged headers-logreg, selection weights) | ${bag.wallSeconds.toFixed(1)} s | log-loss ${cand(bag)?.logLoss.toFixed(4)}, accuracy ${pct(cand(bag)?.accuracy)} % | ${bag.gate.passed ? 'passed' : 'failed'} |
| compress body-chars-fasttext | ${co.wallSeconds.toFixed(1)} s | see below | ${co.gate.passed ? 'passed' : 'failed'} |
| compress body-logreg | ${coLinear.wallSeconds.toFixed(1)} s | see below | ${coLinear.gate.passed ? 'passed' : 'failed'} |

- Stacking vs the best fixed-weight strategy (ensemble selection + temperature): log-loss
  ${stackRow?.logLoss.toFixed(4)} vs ${fixedRow?.logLoss.toFixed(4)}; the served ensemble before the jobs: ${ens(fw)?.logLoss.toFixed(4)}.
- Student of the zoo answering by stacking: best member \`${bestMember.name}\` log-loss ${bestMember.logLoss.toFixed(4)}, ensemble ${ensRow?.logLoss.toFixed(4)}, student
  ${student?.logLoss.toFixed(4)} → ${recovered} at
  ${student?.costUnits} cost units vs the ensemble's ${ensRow?.costUnits} (one fastText member's cost).
- Read the job numbers as validation results: members' and students' temperatures and the
  fusion weights are fitted on the same validation split, so they are slightly optimistic;
  models/METRICS.md has the untouched test-split numbers for the zoo itself.

| int8 compression | bytes | accuracy % | loss | gate (≤ 0.3 pt) |
|---|---|---|---:|---|
${compRow(co, 'body-chars-fasttext')}
${compRow(coLinear, 'body-logreg')}
`;
}
