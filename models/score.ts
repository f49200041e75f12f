/** Scores exported ONNX members over a dataset with onnxruntime-node, in batches. */
import { createNodeBackend } from '../functions/container/onnx-node';
import type { ProbMatrix } from '../lib/fusion';
import type { FamilyInputs, SparseRow } from '../lib/train';

const backend = createNodeBackend();

export async function scoreOnnx(
  bytes: Uint8Array,
  inputName: string,
  outputName: string,
  inputs: FamilyInputs,
  width: number,
  batch = 128,
): Promise<ProbMatrix> {
  const session = await backend.createSession(bytes);
  const n = inputs.kind === 'ids' ? inputs.docs.length : inputs.rows.length;
  let c = 0;
  const chunks: Float32Array[] = [];
  try {
    for (let start = 0; start < n; start += batch) {
      const rows = Math.min(batch, n - start);
      let feed: Parameters<typeof session.run>[0];
      if (inputs.kind === 'ids') {
        const data = new BigInt64Array(rows * width);
        for (let r = 0; r < rows; r++) {
          const doc = inputs.docs[start + r] as Int32Array;
          const len = Math.min(doc.length, width);
          for (let j = 0; j < len; j++) data[r * width + j] = BigInt((doc[j] as number) + 1);
        }
        feed = { [inputName]: { dtype: 'int64', data, dims: [rows, width] } };
      } else {
        const data = new Float32Array(rows * width);
        for (let r = 0; r < rows; r++) {
          const row = inputs.rows[start + r] as SparseRow;
          for (let j = 0; j < row.indices.length; j++)
            data[r * width + (row.indices[j] as number)] = row.values[j] as number;
        }
        feed = { [inputName]: { dtype: 'float32', data, dims: [rows, width] } };
      }
      const out = await session.run(feed, outputName);
      c = out.dims[1] ?? 0;
      chunks.push(Float32Array.from(out.data));
    }
  } finally {
    await session.release();
  }
  const data = new Float64Array(n * c);
  let off = 0;
  for (const chunk of chunks) {
    data.set(chunk, off);
    off += chunk.length;
  }
  return { n, c, data };
}
