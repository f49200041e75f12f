import { ChorusError } from '../errors';
import { softmax } from '../fusion';

/**
 * Trained classifiers as plain float32 parameters. The TypeScript forward pass here is the
 * reference the exported ONNX graphs are checked against.
 */
export interface LinearModel {
  readonly family: 'logreg' | 'naive-bayes';
  readonly inputDim: number;
  readonly classes: number;
  /** [inputDim][classes], row-major */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  /** logits are divided by this before the softmax (validation-fitted calibration) */
  temperature: number;
}

export interface FastTextModel {
  readonly family: 'fasttext';
  /** rows of the embedding table, row 0 = padding (all zero) */
  readonly vocab: number;
  readonly dim: number;
  readonly classes: number;
  /** [vocab][dim] */
  readonly embedding: Float32Array;
  /** [dim][classes] */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  /** bucket ids per example the exported graph takes */
  readonly maxIds: number;
  temperature: number;
}

/** One-hidden-layer ReLU MLP over a dense input, standardised by (x − mean) / std in-graph. */
export interface MlpModel {
  readonly family: 'mlp';
  readonly inputDim: number;
  readonly hidden: number;
  readonly classes: number;
  readonly mean: Float32Array;
  readonly std: Float32Array;
  /** [inputDim][hidden] */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  /** [hidden][classes] */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  temperature: number;
}

export type TrainedModel = LinearModel | FastTextModel | MlpModel;

/** Sparse input row (indices into the model's input space, with values). */
export interface SparseRow {
  indices: Int32Array;
  values: Float32Array;
}

/** x·W + b for a sparse x, W row-major [inputDim][classes]. */
export function affineSparse(
  weights: ArrayLike<number>,
  bias: ArrayLike<number>,
  inputDim: number,
  row: SparseRow,
): Float64Array {
  const classes = bias.length;
  const z = new Float64Array(classes);
  for (let k = 0; k < classes; k++) z[k] = bias[k] as number;
  for (let i = 0; i < row.indices.length; i++) {
    const j = row.indices[i] as number;
    if (j < 0 || j >= inputDim) throw new ChorusError('shape_mismatch', `feature index ${j} outside [0, ${inputDim})`);
    const v = row.values[i] as number;
    const base = j * classes;
    for (let k = 0; k < classes; k++) z[k] = (z[k] as number) + v * (weights[base + k] as number);
  }
  return z;
}

export function linearLogits(model: LinearModel, row: SparseRow): Float64Array {
  return affineSparse(model.weights, model.bias, model.inputDim, row);
}

/** Mean of the embedding rows of the non-padding ids (0 = padding). */
export function fastTextHidden(model: FastTextModel, ids: ArrayLike<number>): { hidden: Float64Array; count: number } {
  const hidden = new Float64Array(model.dim);
  let count = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (id === 0) continue;
    if (id < 0 || id >= model.vocab) throw new ChorusError('shape_mismatch', `id ${id} outside [0, ${model.vocab})`);
    count++;
    const base = id * model.dim;
    for (let d = 0; d < model.dim; d++) hidden[d] = (hidden[d] as number) + (model.embedding[base + d] as number);
  }
  const div = Math.max(count, 1);
  for (let d = 0; d < model.dim; d++) hidden[d] = (hidden[d] as number) / div;
  return { hidden, count };
}

export function fastTextLogits(model: FastTextModel, ids: ArrayLike<number>): Float64Array {
  const { hidden } = fastTextHidden(model, ids);
  const z = new Float64Array(model.classes);
  for (let k = 0; k < model.classes; k++) {
    let s = model.bias[k] as number;
    for (let d = 0; d < model.dim; d++) s += (hidden[d] as number) * (model.weights[d * model.classes + k] as number);
    z[k] = s;
  }
  return z;
}

/** Hidden activations and logits of one standardised row. */
export function mlpForward(m: MlpModel, x: ArrayLike<number>): { h: Float64Array; z: Float64Array } {
  const { inputDim: D, hidden: H, classes: C } = m;
  if (x.length !== D) throw new ChorusError('shape_mismatch', `input has ${x.length} values, the MLP takes ${D}`);
  const h = new Float64Array(H);
  for (let j = 0; j < H; j++) h[j] = m.b1[j] as number;
  for (let d = 0; d < D; d++) {
    const v = ((x[d] as number) - (m.mean[d] as number)) / (m.std[d] as number);
    if (v === 0) continue;
    for (let j = 0; j < H; j++) h[j] = (h[j] as number) + v * (m.w1[d * H + j] as number);
  }
  for (let j = 0; j < H; j++) h[j] = Math.max(0, h[j] as number);
  const z = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = m.b2[c] as number;
    for (let j = 0; j < H; j++) s += (h[j] as number) * (m.w2[j * C + c] as number);
    z[c] = s;
  }
  return { h, z };
}

function scaled(z: Float64Array, temperature: number): Float64Array {
  for (let k = 0; k < z.length; k++) z[k] = (z[k] as number) / temperature;
  return softmax(z);
}

/** Class probabilities of one example: a sparse row for linear models, ids for fastText, a dense row for MLPs. */
export function predictProba(model: TrainedModel, input: SparseRow | ArrayLike<number>): Float64Array {
  return scaled(rawLogits(model, input), model.temperature);
}

/** Logits before temperature, for fitting the temperature. */
export function rawLogits(model: TrainedModel, input: SparseRow | ArrayLike<number>): Float64Array {
  if (model.family === 'mlp') {
    if ('indices' in input) throw new ChorusError('invalid_argument', 'an MLP takes a dense row');
    return mlpForward(model, input).z;
  }
  if (model.family === 'fasttext') {
    if ('indices' in input) throw new ChorusError('invalid_argument', 'fastText takes ids, not a sparse row');
    return fastTextLogits(model, input);
  }
  if (!('indices' in input)) throw new ChorusError('invalid_argument', 'a linear model takes a sparse row');
  return linearLogits(model, input);
}
