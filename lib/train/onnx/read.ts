import onnxProto from 'onnx-proto';
import { ChorusError } from '../../errors';
import type { FastTextModel } from '../model';
import { dequantize } from './quantize';

const { onnx } = onnxProto;
type Tensor = InstanceType<typeof onnx.TensorProto>;

function floats(t: Tensor): Float32Array {
  const raw = new Uint8Array(t.rawData ?? []);
  return raw.length > 0 ? new Float32Array(raw.buffer, 0, raw.length / 4) : Float32Array.from(t.floatData ?? []);
}

/**
 * Reads back a fastText graph written by exportOnnx (fp32 or int8), so a job can start a student
 * from a member's weights (transfer).
 */
export function readFastTextOnnx(bytes: Uint8Array): FastTextModel {
  const graph = onnx.ModelProto.decode(bytes).graph;
  const init = new Map<string, Tensor>();
  for (const t of graph?.initializer ?? []) if (t.name) init.set(t.name, t as Tensor);
  const input = graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[1]?.dimValue;
  const get = (name: string): Tensor => {
    const t = init.get(name);
    if (!t) throw new ChorusError('invalid_argument', `not a Chorus fastText graph: no '${name}' tensor`);
    return t;
  };
  let embedding: Float32Array;
  let dims: number[];
  if (init.has('embedding')) {
    const t = get('embedding');
    embedding = Float32Array.from(floats(t));
    dims = (t.dims ?? []).map(Number);
  } else {
    const q = get('embedding_q');
    dims = (q.dims ?? []).map(Number);
    const [rows = 0, cols = 0] = dims;
    embedding = dequantize({
      q: new Int8Array(new Uint8Array(q.rawData ?? []).buffer.slice(0)),
      scale: Float32Array.from(floats(get('embedding_scale'))),
      axis: 1,
      rows,
      cols,
    });
  }
  const [vocab = 0, dim = 0] = dims;
  const bias = Float32Array.from(floats(get('bias')));
  return {
    family: 'fasttext',
    vocab,
    dim,
    classes: bias.length,
    embedding,
    weights: Float32Array.from(floats(get('weights'))),
    bias,
    maxIds: Number(input ?? 0),
    temperature: floats(get('temperature'))[0] ?? 1,
  };
}
