import { ChorusError } from '../errors';
import { softmax } from '../fusion';
import { checkLabels, checkPositive } from './check';
import { type MlpModel, mlpForward } from './model';
import { createRng, shuffledIndices } from './random';

export interface MlpOptions {
  classes: number;
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** same meaning as fastText's: α·CE + (1−α)·T²·KL(teacher_T ‖ student_T) */
  distill?: { teacher: readonly ArrayLike<number>[]; temperature: number; alpha: number; labeled?: ArrayLike<boolean> };
}

/**
 * A one-hidden-layer ReLU MLP over dense tensor inputs (standardisation folded into the model),
 * trained by mini-batch Adam; the student family for tensor-input ensembles.
 */
export function trainMlp(rows: readonly ArrayLike<number>[], labels: ArrayLike<number>, o: MlpOptions): MlpModel {
  const C = o.classes;
  checkLabels(labels, rows.length, C);
  const D = rows[0]?.length ?? 0;
  checkPositive('input width', D, true);
  const H = o.hidden ?? 32;
  checkPositive('hidden', H, true);
  const epochs = o.epochs ?? 60;
  const batch = o.batchSize ?? 32;
  const lr = o.learningRate ?? 0.01;
  const l2 = o.l2 ?? 1e-4;
  const rng = createRng(o.seed ?? 1);
  const mean = new Float32Array(D);
  const std = new Float32Array(D);
  for (const r of rows) {
    if (r.length !== D) throw new ChorusError('shape_mismatch', `rows have ${r.length} and ${D} values`);
    for (let d = 0; d < D; d++) {
      const v = r[d] as number;
      if (!Number.isFinite(v)) throw new ChorusError('not_finite', `input value ${v}`);
      mean[d] = (mean[d] as number) + v / rows.length;
    }
  }
  for (const r of rows)
    for (let d = 0; d < D; d++)
      std[d] = (std[d] as number) + ((r[d] as number) - (mean[d] as number)) ** 2 / rows.length;
  for (let d = 0; d < D; d++) std[d] = Math.sqrt(std[d] as number) + 1e-6;
  const kd = o.distill;
  if (kd && kd.teacher.length !== rows.length)
    throw new ChorusError('shape_mismatch', `${kd.teacher.length} teacher rows for ${rows.length} examples`);
  const scale1 = Math.sqrt(2 / D);
  const model: MlpModel = {
    family: 'mlp',
    inputDim: D,
    hidden: H,
    classes: C,
    mean,
    std,
    w1: Float32Array.from({ length: D * H }, () => (rng() * 2 - 1) * scale1),
    b1: new Float32Array(H),
    w2: Float32Array.from({ length: H * C }, () => (rng() * 2 - 1) * Math.sqrt(1 / H)),
    b2: new Float32Array(C),
    temperature: 1,
  };
  const params = [model.w1, model.b1, model.w2, model.b2];
  const grads = params.map((p) => new Float64Array(p.length));
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffledIndices(rows.length, rng);
    for (let start = 0; start < order.length; start += batch) {
      for (const g of grads) g.fill(0);
      const end = Math.min(order.length, start + batch);
      for (let t = start; t < end; t++) {
        const i = order[t] as number;
        const x = rows[i] as ArrayLike<number>;
        const { h, z } = mlpForward(model, x);
        const p = softmax(z);
        const y = labels[i] as number;
        const alpha = kd ? (kd.labeled && !kd.labeled[i] ? 0 : kd.alpha) : 1;
        const pT = kd ? softmax(z.map((v) => v / kd.temperature)) : undefined;
        const q = kd?.teacher[i];
        const dz = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          dz[c] = alpha * ((p[c] as number) - (c === y ? 1 : 0));
          if (kd && pT && q)
            dz[c] = (dz[c] as number) + (1 - alpha) * kd.temperature * ((pT[c] as number) - (q[c] as number));
        }
        const [gw1, gb1, gw2, gb2] = grads as [Float64Array, Float64Array, Float64Array, Float64Array];
        const dh = new Float64Array(H);
        for (let j = 0; j < H; j++) {
          for (let c = 0; c < C; c++) {
            gw2[j * C + c] = (gw2[j * C + c] as number) + (h[j] as number) * (dz[c] as number);
            dh[j] = (dh[j] as number) + (model.w2[j * C + c] as number) * (dz[c] as number);
          }
          if ((h[j] as number) <= 0) dh[j] = 0;
          gb1[j] = (gb1[j] as number) + (dh[j] as number);
        }
        for (let c = 0; c < C; c++) gb2[c] = (gb2[c] as number) + (dz[c] as number);
        for (let d = 0; d < D; d++) {
          const v = ((x[d] as number) - (mean[d] as number)) / (std[d] as number);
          for (let j = 0; j < H; j++) gw1[d * H + j] = (gw1[d * H + j] as number) + v * (dh[j] as number);
        }
      }
      step++;
      const n = end - start;
      const c1 = 1 - 0.9 ** step;
      const c2 = 1 - 0.999 ** step;
      params.forEach((p, k) => {
        const g = grads[k] as Float64Array;
        const a = m1[k] as Float64Array;
        const b = m2[k] as Float64Array;
        const decay = k === 0 || k === 2 ? l2 : 0;
        for (let i = 0; i < p.length; i++) {
          const gi = (g[i] as number) / n + decay * (p[i] as number);
          a[i] = 0.9 * (a[i] as number) + 0.1 * gi;
          b[i] = 0.999 * (b[i] as number) + 0.001 * gi * gi;
          p[i] = (p[i] as number) - (lr * ((a[i] as number) / c1)) / (Math.sqrt((b[i] as number) / c2) + 1e-8);
        }
      });
    }
  }
  return model;
}
