import { validateInputs } from '../../lib/ensemble';
import { ChorusError } from '../../lib/errors';
import { type DatasetRow, DatasetRowSchema, type EnsembleManifest, type PredictInput } from '../../lib/schema';
import { type BlobStore, sha256Hex } from '../../lib/store';

export interface Dataset {
  key: string;
  /** sha256 of the object's bytes: the cache key for scores */
  hash: string;
  inputs: PredictInput[];
  /** class index per row, -1 where unlabeled */
  labels: Int32Array;
}

/** Reads a JSONL dataset and checks every row against the ensemble's input spec and labels. */
export async function loadDataset(store: BlobStore, key: string, manifest: EnsembleManifest): Promise<Dataset> {
  const bytes = await store.get(key);
  if (bytes === null) throw new ChorusError('not_found', `dataset ${key} does not exist`);
  const lines = new TextDecoder().decode(bytes).split('\n');
  const rows: DatasetRow[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new ChorusError('invalid_input', `${key} line ${i + 1} is not JSON`);
    }
    const parsed = DatasetRowSchema.safeParse(json);
    if (!parsed.success)
      throw new ChorusError('invalid_input', `${key} line ${i + 1}: ${parsed.error.issues[0]?.message}`);
    rows.push(parsed.data);
  });
  if (rows.length === 0) throw new ChorusError('invalid_input', `dataset ${key} is empty`);
  const inputs = rows.map((r) => r.input as PredictInput);
  validateInputs(manifest.input, inputs);
  const labels = Int32Array.from(rows, (r, i) => {
    if (r.label === undefined) return -1;
    const k = manifest.labels.indexOf(r.label);
    if (k < 0) throw new ChorusError('invalid_input', `${key} row ${i + 1}: unknown label '${r.label}'`);
    return k;
  });
  return { key, hash: await sha256Hex(bytes), inputs, labels };
}

/** Rows that carry a label, and their labels. */
export function labeled(d: Dataset): { rows: number[]; labels: number[] } {
  const rows: number[] = [];
  const labels: number[] = [];
  d.labels.forEach((y, i) => {
    if (y >= 0) {
      rows.push(i);
      labels.push(y);
    }
  });
  return { rows, labels };
}
