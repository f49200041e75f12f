import { ChorusError } from '../errors';
import type { InputTensor, ModelSession, OutputTensor, TensorData } from './backend';

/**
 * The batch size a graph fixes (an exporter's trace without dynamic axes, e.g. torch.onnx.export
 * of a batch-1 example), or undefined when every input's first dim is symbolic.
 */
export function fixedBatchOf(session: ModelSession, fed: readonly string[]): number | undefined {
  let fixed: number | undefined;
  for (const name of fed) {
    const first = session.inputs.find((v) => v.name === name)?.shape?.[0];
    if (typeof first === 'number' && first > 0) fixed = fixed === undefined ? first : Math.min(fixed, first);
  }
  return fixed;
}

/** Elements [from, to) of a tensor's data, as the same kind of array (texts are a plain array). */
const range = (data: TensorData, from: number, to: number): TensorData =>
  Array.isArray(data) ? data.slice(from, to) : (data as Exclude<TensorData, readonly string[]>).subarray(from, to);

const rowsOf = (t: InputTensor, from: number, count: number): InputTensor => {
  const width = t.dims.slice(1).reduce((a, d) => a * d, 1);
  return {
    dtype: t.dtype,
    data: range(t.data, from * width, (from + count) * width),
    dims: [count, ...t.dims.slice(1)],
  };
};

/**
 * Runs `feeds` ([n, …] each) through the session, in slices of the graph's fixed batch size when
 * it has one smaller than n, and joins the outputs along the batch: a model exported for batch 1
 * answers a request of many inputs instead of failing it. Texts run one row at a time: a text
 * graph's Tokenizer pads every row to the most tokens of any row ([rows, most tokens] strings),
 * so one long text among short ones cost rows × its length (measured in onnxruntime-web: a
 * 500,000-word text beside 63 short ones took 5× its time alone and 360 MiB more memory).
 */
export async function runBatched(
  session: ModelSession,
  feeds: Record<string, InputTensor>,
  outputName: string,
  n: number,
): Promise<OutputTensor> {
  const fixed = Object.values(feeds).some((t) => t.dtype === 'string') ? 1 : fixedBatchOf(session, Object.keys(feeds));
  if (fixed === undefined || fixed === n) return session.run(feeds, outputName);
  const parts: OutputTensor[] = [];
  for (let from = 0; from < n; from += fixed) {
    // a last slice shorter than the fixed size is padded by repeating its last row, then cut
    const count = Math.min(fixed, n - from);
    const slice: Record<string, InputTensor> = {};
    for (const [name, t] of Object.entries(feeds)) slice[name] = padded(rowsOf(t, from, count), fixed);
    const out = await session.run(slice, outputName);
    if (out.dims[0] !== fixed) {
      throw new ChorusError('shape_mismatch', `output dims [${out.dims}] for a batch of ${fixed}`);
    }
    const width = out.dims.slice(1).reduce((a, d) => a * d, 1);
    parts.push({ data: out.data.subarray(0, count * width), dims: [count, ...out.dims.slice(1)] });
  }
  const width = parts[0]?.dims.slice(1).reduce((a, d) => a * d, 1) ?? 0;
  const data = new Float32Array(n * width);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, dims: [n, ...(parts[0]?.dims.slice(1) ?? [])] };
}

function padded(t: InputTensor, rows: number): InputTensor {
  const have = t.dims[0] ?? 0;
  // texts are never short of a slice: they run one row at a time (runBatched)
  if (have >= rows || Array.isArray(t.data)) return t;
  const numbers = t.data as Exclude<TensorData, readonly string[]>;
  const width = numbers.length / Math.max(have, 1);
  const Ctor = numbers.constructor as new (n: number) => typeof numbers;
  const data = new Ctor(rows * width);
  data.set(numbers as never);
  const last = numbers.subarray((have - 1) * width, have * width);
  for (let r = have; r < rows; r++) data.set(last as never, r * width);
  return { dtype: t.dtype, data, dims: [rows, ...t.dims.slice(1)] };
}
