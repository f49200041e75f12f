import { ChorusError } from '../../errors';
import type { TrainedModel } from '../model';

/** Symmetric int8 tensor quantized per slice along `axis` of a 2-D [rows][cols] tensor. */
export interface QuantizedTensor {
  readonly q: Int8Array;
  /** one float32 scale per slice along the axis (zero point is 0) */
  readonly scale: Float32Array;
  readonly axis: 0 | 1;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Symmetric int8 quantization: scale = max|w| / 127 per slice, q = round(w / scale). Dequantized
 * values are q · scale in float32, exactly as ONNX DequantizeLinear computes them.
 */
export function quantizeSymmetric(values: Float32Array, rows: number, cols: number, axis: 0 | 1): QuantizedTensor {
  if (values.length !== rows * cols)
    throw new ChorusError('shape_mismatch', `${values.length} values for ${rows}×${cols}`);
  const slices = axis === 0 ? rows : cols;
  const scale = new Float32Array(slices);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c] as number;
      if (!Number.isFinite(v)) throw new ChorusError('not_finite', `weight [${r}, ${c}] is ${v}`);
      const s = axis === 0 ? r : c;
      scale[s] = Math.max(scale[s] as number, Math.abs(v));
    }
  }
  for (let s = 0; s < slices; s++) scale[s] = (scale[s] as number) > 0 ? (scale[s] as number) / 127 : 1;
  const q = new Int8Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scale[axis === 0 ? r : c] as number;
      q[r * cols + c] = Math.max(-127, Math.min(127, Math.round((values[r * cols + c] as number) / s)));
    }
  }
  return { q, scale, axis, rows, cols };
}

export function dequantize(t: QuantizedTensor): Float32Array {
  const out = new Float32Array(t.q.length);
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++) {
      out[r * t.cols + c] = (t.q[r * t.cols + c] as number) * (t.scale[t.axis === 0 ? r : c] as number);
    }
  }
  return out;
}

/** The big tensor of a model that int8 compresses: linear weights or the embedding table. */
export function quantizedTensorOf(model: TrainedModel): QuantizedTensor {
  // Per output column for linear weights, per embedding dimension for the table: few scales.
  if (model.family === 'fasttext') return quantizeSymmetric(model.embedding, model.vocab, model.dim, 1);
  if (model.family === 'mlp') return quantizeSymmetric(model.w1, model.inputDim, model.hidden, 1);
  return quantizeSymmetric(model.weights, model.inputDim, model.classes, 1);
}

/** The model as its int8 export computes it (dequantized parameters), for reference forwards. */
export function dequantizedModel(model: TrainedModel): TrainedModel {
  const deq = dequantize(quantizedTensorOf(model));
  if (model.family === 'fasttext') return { ...model, embedding: deq };
  if (model.family === 'mlp') return { ...model, w1: deq };
  return { ...model, weights: deq };
}
