import { ChorusError } from '../errors';
import { hashedBuckets, sparseFeatures } from '../features';
import { fitLogitTemperature, type ProbMatrix, softmax } from '../fusion';
import type { HashedNgramFeaturizer } from '../schema';
import { trainFastText } from './fasttext';
import { bucketIds } from './ids';
import { trainLogisticRegression } from './logreg';
import { rawLogits, type SparseRow, type TrainedModel } from './model';
import { trainNaiveBayes } from './naive-bayes';
import type { TrainableFamily } from './trainable';

/** Featurized examples in the form a family trains on. */
export type FamilyInputs =
  | { kind: 'sparse'; rows: SparseRow[] }
  | { kind: 'ids'; docs: Int32Array[] }
  | { kind: 'dense'; rows: Float32Array[] };

export interface FamilyOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  dim?: number;
  alpha?: number;
  seed?: number;
  /** logistic regression: the step size at the last step, reached linearly (default: constant) */
  finalLearningRate?: number;
}

/** Featurizes texts for a hashed featurizer: sparse rows for linear families, bucket ids for fastText. */
export function featurizeForFamily(texts: readonly string[], spec: HashedNgramFeaturizer): FamilyInputs {
  if (spec.output === 'ids') return { kind: 'ids', docs: texts.map((t) => hashedBuckets(t, spec)) };
  return { kind: 'sparse', rows: texts.map((t) => sparseFeatures(hashedBuckets(t, spec), spec)) };
}

export function subsetInputs(inputs: FamilyInputs, rows: readonly number[]): FamilyInputs {
  if (inputs.kind === 'ids') return { kind: 'ids', docs: rows.map((r) => inputs.docs[r] as Int32Array) };
  if (inputs.kind === 'dense') return { kind: 'dense', rows: rows.map((r) => inputs.rows[r] as Float32Array) };
  return { kind: 'sparse', rows: rows.map((r) => inputs.rows[r] as SparseRow) };
}

function inputAt(inputs: FamilyInputs, i: number, maxIds: number): SparseRow | Int32Array | Float32Array {
  if (inputs.kind === 'sparse') return inputs.rows[i] as SparseRow;
  if (inputs.kind === 'dense') return inputs.rows[i] as Float32Array;
  return bucketIds(inputs.docs[i] as Int32Array, maxIds);
}

/** Trains one model of a family on featurized inputs (seeded, deterministic). */
export function trainFamily(
  family: TrainableFamily,
  spec: HashedNgramFeaturizer,
  inputs: FamilyInputs,
  labels: ArrayLike<number>,
  classes: number,
  options: FamilyOptions = {},
  sampleWeights?: ArrayLike<number>,
): TrainedModel {
  const seed = options.seed ?? 1;
  const weightOpt = sampleWeights === undefined ? {} : { sampleWeights };
  if (family === 'fasttext') {
    if (inputs.kind !== 'ids' || spec.maxIds === undefined) {
      throw new ChorusError('invalid_argument', "fastText needs a featurizer with output 'ids'");
    }
    return trainFastText(inputs.docs, labels, {
      classes,
      buckets: spec.buckets,
      maxIds: spec.maxIds,
      seed,
      ...(options.dim === undefined ? {} : { dim: options.dim }),
      ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
      ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
      ...weightOpt,
    });
  }
  if (inputs.kind !== 'sparse') throw new ChorusError('invalid_argument', `${family} needs count or log-l2 features`);

  if (family === 'naive-bayes') {
    return trainNaiveBayes(inputs.rows, labels, {
      classes,
      inputDim: spec.buckets,
      ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
      ...weightOpt,
    });
  }
  return trainLogisticRegression(inputs.rows, labels, {
    classes,
    inputDim: spec.buckets,
    seed,
    ...(options.l2 === undefined ? {} : { l2: options.l2 }),
    ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
    ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
    ...(options.finalLearningRate === undefined ? {} : { finalLearningRate: options.finalLearningRate }),
    ...weightOpt,
  });
}

function maxIdsOf(model: TrainedModel): number {
  return model.family === 'fasttext' ? model.maxIds : Number.POSITIVE_INFINITY;
}

/** Logits (before temperature) of every example, n × classes. */
export function logitsMatrix(model: TrainedModel, inputs: FamilyInputs): ProbMatrix {
  const n = inputs.kind === 'ids' ? inputs.docs.length : inputs.rows.length;
  const data = new Float64Array(n * model.classes);
  if (n === 0) throw new ChorusError('invalid_argument', 'no inputs to score');
  for (let i = 0; i < n; i++) data.set(rawLogits(model, inputAt(inputs, i, maxIdsOf(model))), i * model.classes);
  return { n, c: model.classes, data };
}

/** The TypeScript reference probabilities of every example, temperature applied. */
export function probabilityMatrix(model: TrainedModel, inputs: FamilyInputs): ProbMatrix {
  const logits = logitsMatrix(model, inputs);
  const data = new Float64Array(logits.data.length);
  for (let i = 0; i < logits.n; i++) {
    const z = logits.data.subarray(i * logits.c, (i + 1) * logits.c).map((v) => v / model.temperature);
    data.set(softmax(z), i * logits.c);
  }
  return { n: logits.n, c: logits.c, data };
}

/** Sets the model's temperature to the one minimising log-loss on held-out inputs. */
export function calibrateTemperature(model: TrainedModel, inputs: FamilyInputs, labels: ArrayLike<number>): number {
  model.temperature = Math.fround(fitLogitTemperature(logitsMatrix(model, inputs), labels));
  return model.temperature;
}
