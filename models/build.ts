/**
 * Reproducible build of the example zoo: `npm run build:models`.
 * Cross-fits every member on train + validation (5 grouped folds, lib/train's stacking recipe:
 * served refits, fold models for out-of-fold answers), exports fp32 + int8 ONNX, scores the
 * exported files through the serving engine (onnxruntime-node), fits every fusion strategy and
 * every row's temperature and operating point on the out-of-fold validation answers and slices,
 * and writes models/spam/ (ONNX + manifest + reference answers) and models/METRICS.{md,json}.
 * Everything is seeded and no timestamp is written, so a rebuild is byte-identical. The steps
 * live in models/steps/.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { augmentFitRows, loadCorpus } from './corpus';
import { fitFusion } from './steps/fusion';
import { buildMembers, SERVED_VARIANT, zooFusionOptions } from './steps/members';
import { referenceAnswers, writeMetrics, zooManifest } from './steps/outputs';
import { splitCorpus } from './steps/split';
import { crossFittedStacking, stackOnValidation } from './steps/stacking';
import { buildTransformer } from './steps/transformer';
import { renderTransformerSection } from './steps/transformer-report';

/** models/ by default; scripts/check-models.ts builds into a scratch directory and compares. */
const HERE = process.env.MODELS_OUT_DIR ?? dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'spam');
/** Fixed so a rebuild is identical; override with SOURCE_DATE_EPOCH (seconds) like other reproducible builds. */
const CREATED_AT = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 1_795_305_600) * 1000).toISOString();

const log = (...a: unknown[]): void => console.error('[build:models]', ...a);

async function main(): Promise<void> {
  const started = Date.now();
  const split = splitCorpus(await augmentFitRows(await loadCorpus()));
  log(
    `corpus ${split.corpus.length}: fit ${split.fit.length} (train and validation, ${split.validation.length} of them validation, each with its first-sentence copy), test ${split.test.length}`,
  );
  await mkdir(OUT, { recursive: true });
  const { members, slices, crossFit } = await buildMembers(split, OUT, log);
  const { metaLearner, foldMetaLearners, valFolds } = crossFit;
  // validation rows answered by the meta-learner fitted without their fold, as the members are
  const crossFitted = crossFittedStacking(
    { metaLearner, foldMetaLearners, valFolds, valPos: split.valPos },
    members.map((m) => m.variants[SERVED_VARIANT].probs),
    slices,
    zooFusionOptions(
      split,
      members.map((m) => m.def),
    ),
  );
  const fusion = fitFusion(members, split, metaLearner, slices, crossFitted);
  const manifest = await zooManifest(members, split, fusion, metaLearner, CREATED_AT);
  await writeFile(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const reference = referenceAnswers(members, split, manifest, slices);
  await writeFile(join(OUT, 'reference.json'), `${JSON.stringify(reference, null, 1)}\n`);
  await writeMetrics(HERE, members, split, fusion);
  // The transformer member and the ensemble with it, reported beside the served zoo.
  const bert = await buildTransformer(split, OUT, log);
  const slicesWith = Object.fromEntries(
    Object.entries(slices).map(([name, probs]) => [name, [...probs, bert.slices[name as keyof typeof slices]]]),
  ) as typeof slices;
  // The transformer's train answers are in-sample: stack every served member on validation instead.
  const withMembers = [...members, bert.member];
  const stackedWith = await stackOnValidation(
    split,
    withMembers.map((m) => ({ id: m.def.id, probs: m.variants[SERVED_VARIANT].probs })),
    slicesWith,
    log,
    zooFusionOptions(
      split,
      withMembers.map((m) => m.def),
    ),
  );
  const fusionWith = fitFusion(withMembers, split, stackedWith.metaLearner, slicesWith, stackedWith.crossFitted);
  await appendFile(join(HERE, 'METRICS.md'), `\n${renderTransformerSection(fusion, fusionWith)}`);
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s; default fusion: ${fusion.chosen.name}, T=${fusion.fitted.temperature}, threshold ${fusion.fitted.threshold}; with ${bert.member.def.id}: ${fusionWith.chosen.name}`,
  );
}

await main();
