import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { SessionCache } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest, MemberSpec } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';
import {
  classificationMetrics,
  Evaluator,
  type ExportedVariant,
  exportVariants,
  servingTemperature,
  type TrainedModel,
  type Variant,
} from '../../lib/train';
import { LABELS } from '../corpus';
import { type ByoDefinition, type MemberDefinition, ZOO_MIN_ANSWERING, zooManifestHead } from '../zoo';
import { type CrossFit, crossFitZoo, FOLDS } from './crossfit';
import { rowInputs, SLICES, type SliceName, sliceDatasets } from './slices';
import { type Split, valOf } from './split';

/** Members are served as int8 at the edge (memory budget); fp32 is reported beside them. */
export const SERVED_VARIANT = 'int8' satisfies Variant;

export interface BuiltVariant extends ExportedVariant {
  spec: MemberSpec;
  /**
   * over the scored rows (validation then test), through the serving engine: validation rows by
   * the fold models that never saw their fold, test rows by the served refit (this variant's bytes)
   */
  probs: ProbMatrix;
}

export interface BuiltMember {
  def: MemberDefinition | ByoDefinition;
  variants: Record<Variant, BuiltVariant>;
  validationAccuracy: number;
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

/** Class shares of the fit rows (train and validation): the answer when every member abstains. */
export function fitPrior(split: Pick<Split, 'fit' | 'yOf'>): number[] {
  const counts = LABELS.map(() => 0);
  for (const y of split.yOf(split.fit)) counts[y] = (counts[y] as number) + 1;
  return counts.map((c) => Number((c / split.fit.length).toPrecision(6)));
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
  split: Pick<Split, 'fit' | 'yOf'>,
  defs: readonly Pick<MemberDefinition | ByoDefinition, 'bodyEvidence'>[],
): { prior: number[]; minAnswering: number; requireAnyOf: boolean[] } {
  return { prior: fitPrior(split), minAnswering: ZOO_MIN_ANSWERING, requireAnyOf: defs.map((d) => d.bodyEvidence) };
}

/** Both variants of each member, as a manifest over `models` lists them (ids suffixed .fp32 / .int8). */
function scoringManifest(models: readonly Exported[], prior: number[]): EnsembleManifest {
  return {
    ...zooManifestHead(),
    members: models.flatMap((t) =>
      (['fp32', 'int8'] as const).map((variant) => ({
        ...memberSpec(t.def, variant, t.variants[variant]),
        id: `${t.def.id}.${variant}`,
      })),
    ),
    fusion: { strategy: 'soft', temperature: 1, quorum: 1, prior },
    provenance: { createdAt: new Date(0).toISOString() },
  };
}

interface Exported {
  def: MemberDefinition;
  variants: Record<Variant, ExportedVariant>;
}

const emptyMatrix = (n: number): ProbMatrix => ({
  n,
  c: LABELS.length,
  data: new Float64Array(n * LABELS.length),
  abstained: new Uint8Array(n),
});

/** Copies the rows of `from` into `into` at `positions`, abstentions included. */
function place(into: ProbMatrix, from: ProbMatrix, positions: readonly number[]): void {
  positions.forEach((p, j) => {
    into.data.set(from.data.subarray(j * from.c, (j + 1) * from.c), p * into.c);
    if (into.abstained) into.abstained[p] = from.abstained?.[j] ?? 0;
  });
}

/**
 * Cross-fits every zoo member on train + validation (crossfit.ts), exports the served refits as
 * fp32 + int8 into `outDir`, then scores through the serving engine: test rows (and their slices)
 * by the served refits, each validation row (and its slices) by the exported fold models that
 * never saw its fold, at the other folds' temperatures.
 */
export async function buildMembers(
  split: Split,
  outDir: string,
  log: (...a: unknown[]) => void,
): Promise<{ members: BuiltMember[]; slices: Record<SliceName, ProbMatrix[]>; crossFit: CrossFit }> {
  const { corpus } = split;
  const store = new MemoryBlobStore();
  const crossFit = crossFitZoo(split, log);
  const exportOf = (def: MemberDefinition, model: TrainedModel) =>
    exportVariants(model, { labels: LABELS, docString: def.description, featurizer: def.featurizer }, store);
  const served: Exported[] = [];
  for (const m of crossFit.members) {
    const variants = await exportOf(m.def, m.model);
    for (const variant of ['fp32', 'int8'] as const)
      await writeFile(join(outDir, `${m.def.id}.${variant}.onnx`), variants[variant].bytes);
    served.push({ def: m.def, variants });
    log(`${m.def.id}: fp32 ${variants.fp32.bytes.length} B, int8 ${variants.int8.bytes.length} B`);
  }

  const prior = fitPrior(split);
  const evaluator = new Evaluator(new SessionCache(createNodeBackend(), store, 1 << 30));
  const n = split.scored.length;
  const probs = served.map(() => [emptyMatrix(n), emptyMatrix(n)]);
  const slices = Object.fromEntries(
    (Object.keys(SLICES) as SliceName[]).map((name) => [name, served.map(() => emptyMatrix(n))]),
  ) as Record<SliceName, ProbMatrix[]>;
  /** `models` answer the corpus `rows`, placed at `positions` of the scored rows. */
  const scoreWith = async (models: Exported[], rows: number[], positions: number[], tag: string) => {
    const scoring = scoringManifest(models, prior);
    const answers = await evaluator.members(scoring, { hash: `zoo-rows#${tag}`, inputs: rowInputs(corpus, rows) });
    for (const [k, a] of answers.entries()) place(probs[Math.floor(k / 2)]?.[k % 2] as ProbMatrix, a, positions);
    const int8 = { ...scoring, members: scoring.members.filter((_, k) => k % 2 === 1) };
    for (const { name, dataset } of sliceDatasets(corpus, rows, tag)) {
      const sliced = await evaluator.members(int8, dataset);
      for (const [i, a] of sliced.entries()) place(slices[name][i] as ProbMatrix, a, positions);
    }
  };
  log('scoring test and its slices (served refits)');
  await scoreWith(served, split.test, split.testPos, 'test');
  for (let f = 0; f < FOLDS; f++) {
    log(`scoring validation fold ${f + 1}/${FOLDS} and its slices (fold models)`);
    const folded: Exported[] = [];
    for (const m of crossFit.members) {
      // its own temperature was fitted on fold f, the rows it answers here: no label of the fold may
      // reach their answers, so it answers at the other folds' temperatures (their geometric mean)
      const others = m.foldModels.filter((_, g) => g !== f).map((x) => x.temperature);
      const model = { ...(m.foldModels[f] as TrainedModel), temperature: servingTemperature(others) };
      folded.push({ def: m.def, variants: await exportOf(m.def, model) });
    }
    const at = crossFit.valFolds.flatMap((g, i) => (g === f ? [i] : []));
    await scoreWith(
      folded,
      at.map((i) => split.validation[i] as number),
      at.map((i) => split.valPos[i] as number),
      `validation-fold-${f}`,
    );
  }
  const built = crossFit.members.map((m, i) => {
    const t = served[i] as Exported;
    const variant = (v: Variant, k: number): BuiltVariant => ({
      ...t.variants[v],
      spec: memberSpec(m.def, v, t.variants[v]),
      probs: probs[i]?.[k] as ProbMatrix,
    });
    const variants = { fp32: variant('fp32', 0), int8: variant('int8', 1) };
    const validationAccuracy = classificationMetrics(valOf(split, variants[SERVED_VARIANT].probs), split.yVal).accuracy;
    return { def: m.def, variants, validationAccuracy };
  });
  return { members: built, slices, crossFit };
}
