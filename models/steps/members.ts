import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { abstainsOn, SessionCache } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest, MemberSpec } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';
import {
  calibrateTemperature,
  classificationMetrics,
  Evaluator,
  type ExportedVariant,
  exportVariants,
  type FamilyInputs,
  featurizeForFamily,
  subsetInputs,
  trainFamily,
  type Variant,
} from '../../lib/train';
import { LABELS } from '../corpus';
import { type ByoDefinition, type MemberDefinition, ZOO, ZOO_MIN_ANSWERING, zooManifestHead } from '../zoo';
import { type SliceName, sliceDatasets } from './slices';
import { type Split, valOf } from './split';

/** Members are served as int8 at the edge (memory budget); fp32 is reported beside them. */
export const SERVED_VARIANT = 'int8' satisfies Variant;

export interface BuiltVariant extends ExportedVariant {
  spec: MemberSpec;
  /** over the scored rows (validation then test), as the serving engine answers */
  probs: ProbMatrix;
}

export interface BuiltMember {
  def: MemberDefinition | ByoDefinition;
  /** every corpus message featurized for this member (trained members only) */
  inputs?: FamilyInputs;
  variants: Record<Variant, BuiltVariant>;
  validationAccuracy: number;
}

/** A member trained here: retrainable on folds (stacking). */
export interface TrainedMember extends BuiltMember {
  def: MemberDefinition;
  inputs: FamilyInputs;
}

function memberSpec(def: MemberDefinition, variant: Variant, v: ExportedVariant): MemberSpec {
  return {
    id: def.id,
    model: v.model,
    family: def.family,
    training: { ...def.options },
    variant,
    featurizer: def.featurizer,
    ...(v.inputs ? { inputs: v.inputs } : { inputName: v.inputName }),
    outputName: v.outputName,
    output: 'probabilities',
    costUnits: def.costUnits,
    ...(def.abstain ? { abstain: def.abstain } : {}),
  };
}

/** Class shares of the train split: the answer when every member abstains. */
export function trainPrior(split: Pick<Split, 'train' | 'yOf'>): number[] {
  const counts = LABELS.map(() => 0);
  for (const y of split.yOf(split.train)) counts[y] = (counts[y] as number) + 1;
  return counts.map((c) => Number((c / split.train.length).toPrecision(6)));
}

/** The ids of the members an answer needs one of (`fusion.requireAnyOf`): those that read the body. */
export function bodyEvidenceIds(
  defs: readonly Pick<MemberDefinition | ByoDefinition, 'id' | 'bodyEvidence'>[],
): string[] {
  return defs.filter((d) => d.bodyEvidence).map((d) => d.id);
}

/**
 * What every zoo fusion of these members shares with the served manifest: the prior, the fewest
 * members that must answer, and which of them an answer needs one of (`bodyEvidence`).
 */
export function zooFusionOptions(
  split: Pick<Split, 'train' | 'yOf'>,
  defs: readonly Pick<MemberDefinition | ByoDefinition, 'bodyEvidence'>[],
): { prior: number[]; minAnswering: number; requireAnyOf: boolean[] } {
  return { prior: trainPrior(split), minAnswering: ZOO_MIN_ANSWERING, requireAnyOf: defs.map((d) => d.bodyEvidence) };
}

/**
 * Trains every zoo member on train (temperature on validation), exports fp32 + int8 into `outDir`,
 * then scores both variants of every member on validation + test through the serving engine.
 */
export async function buildMembers(
  split: Split,
  outDir: string,
  log: (...a: unknown[]) => void,
): Promise<{ members: TrainedMember[]; slices: Record<SliceName, ProbMatrix[]> }> {
  const { corpus, train, validation } = split;
  const store = new MemoryBlobStore();
  const trained: { def: MemberDefinition; inputs: FamilyInputs; variants: Record<Variant, ExportedVariant> }[] = [];
  for (const def of ZOO) {
    const view = def.featurizer.view ?? 'body';
    const inputs = featurizeForFamily(
      corpus.map((m) => m.views[view]),
      def.featurizer,
    );
    // A member learns and is calibrated only where it answers (it abstains on the other rows).
    const answers = (r: number) => !abstainsOn(def, (corpus[r] as (typeof corpus)[number]).views[view]);
    const fitRows = train.filter(answers);
    const calRows = validation.filter(answers);
    const model = trainFamily(
      def.family,
      def.featurizer,
      subsetInputs(inputs, fitRows),
      split.yOf(fitRows),
      LABELS.length,
      def.options,
    );
    calibrateTemperature(model, subsetInputs(inputs, calRows), split.yOf(calRows));
    const variants = await exportVariants(
      model,
      { labels: LABELS, docString: def.description, featurizer: def.featurizer },
      store,
    );
    for (const variant of ['fp32', 'int8'] as const)
      await writeFile(join(outDir, `${def.id}.${variant}.onnx`), variants[variant].bytes);
    trained.push({ def, inputs, variants });
    log(
      `${def.id}: T=${model.temperature.toFixed(3)} fp32 ${variants.fp32.bytes.length} B, int8 ${variants.int8.bytes.length} B`,
    );
  }

  const specs = trained.flatMap((t) =>
    (['fp32', 'int8'] as const).map((variant) => ({
      ...memberSpec(t.def, variant, t.variants[variant]),
      id: `${t.def.id}.${variant}`,
    })),
  );
  const scoring: EnsembleManifest = {
    ...zooManifestHead(),
    members: specs,
    fusion: { strategy: 'soft', temperature: 1, quorum: 1, prior: trainPrior(split) },
    provenance: { createdAt: new Date(0).toISOString() },
  };
  const evaluator = new Evaluator(new SessionCache(createNodeBackend(), store, 1 << 30));
  const probs = await evaluator.members(scoring, {
    hash: 'zoo-scored-rows',
    inputs: split.scored.map((r) => ({ message: (corpus[r] as (typeof corpus)[number]).raw })),
  });
  const served: EnsembleManifest = {
    ...scoring,
    members: trained.map((t) => memberSpec(t.def, SERVED_VARIANT, t.variants[SERVED_VARIANT])),
  };
  const slices = {} as Record<SliceName, ProbMatrix[]>;
  for (const { name, dataset } of sliceDatasets(split)) {
    log(`scoring slice ${name}`);
    slices[name] = await evaluator.members(served, dataset);
  }
  const built = trained.map((t, i) => {
    const variant = (v: Variant, k: number): BuiltVariant => ({
      ...t.variants[v],
      spec: memberSpec(t.def, v, t.variants[v]),
      probs: probs[2 * i + k] as ProbMatrix,
    });
    const variants = { fp32: variant('fp32', 0), int8: variant('int8', 1) };
    const validationAccuracy = classificationMetrics(valOf(split, variants[SERVED_VARIANT].probs), split.yVal).accuracy;
    return { def: t.def, inputs: t.inputs, variants, validationAccuracy };
  });
  return { members: built, slices };
}
