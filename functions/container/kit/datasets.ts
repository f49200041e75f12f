import { validateInputs } from '../../../lib/ensemble';
import { ChorusError } from '../../../lib/errors';
import { parseEmail } from '../../../lib/features';
import {
  type DatasetRow,
  DatasetRowSchema,
  type EnsembleManifest,
  type HashedNgramFeaturizer,
  JOB_LIMITS,
  type PredictInput,
} from '../../../lib/schema';
import { type BlobStore, sha256Hex } from '../../../lib/store';
import {
  type EvalDataset,
  type FamilyInputs,
  featurizeForFamily,
  groupedFolds,
  labelledRows,
  rowGroupKeys,
} from '../../../lib/train';

export interface Dataset extends EvalDataset {
  key: string;
  /** sha256 of the object's bytes: the cache key for scores */
  hash: string;
  inputs: PredictInput[];
  /** the rows' `id`s, where given (near-duplicate grouping falls back to them) */
  ids: (string | undefined)[];
  /** class index per row, -1 where unlabeled */
  labels: Int32Array;
}

function parseLines(key: string, bytes: Uint8Array): DatasetRow[] {
  const rows: DatasetRow[] = [];
  new TextDecoder()
    .decode(bytes)
    .split('\n')
    .forEach((line, i) => {
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
  return rows;
}

/** Reads a JSONL dataset and checks every row against the ensemble's input spec and labels. */
export async function loadDataset(store: BlobStore, key: string, manifest: EnsembleManifest): Promise<Dataset> {
  const head = await store.head(key);
  if (head === null) throw new ChorusError('not_found', `dataset ${key} does not exist`);
  if (head.size > JOB_LIMITS.datasetBytes) {
    throw new ChorusError('input_limit', `dataset ${key} has ${head.size} bytes, at most ${JOB_LIMITS.datasetBytes}`);
  }
  const bytes = await store.get(key);
  if (bytes === null) throw new ChorusError('not_found', `dataset ${key} does not exist`);
  const rows = parseLines(key, bytes);
  const inputs = rows.map((r) => r.input as PredictInput);
  validateInputs(manifest.input, inputs);
  const labels = Int32Array.from(rows, (r, i) => {
    if (r.label === undefined) return -1;
    const k = manifest.labels.indexOf(r.label);
    if (k < 0) throw new ChorusError('invalid_input', `${key} row ${i + 1}: unknown label '${r.label}'`);
    return k;
  });
  return { key, hash: await sha256Hex(bytes), inputs, ids: rows.map((r) => r.id), labels };
}

/** Rows that carry a label, and their labels. */
export const labeled = (d: Dataset): { rows: number[]; labels: number[] } => labelledRows(d.labels);

/** The text each input shows a featurizer (its e-mail view for rfc822 fields). */
export async function featurizerTexts(
  manifest: EnsembleManifest,
  featurizer: HashedNgramFeaturizer,
  inputs: readonly PredictInput[],
): Promise<string[]> {
  const field = manifest.input.fields[featurizer.field];
  return Promise.all(
    inputs.map(async (input) => {
      const raw = (input[featurizer.field] as string | undefined) ?? '';
      return field?.type === 'text' && field.format === 'rfc822'
        ? (await parseEmail(raw))[featurizer.view ?? 'body']
        : raw;
    }),
  );
}

/** Some rows of a dataset, featurized the way a trainable family reads them. */
export async function featurizeRows(
  manifest: EnsembleManifest,
  featurizer: HashedNgramFeaturizer,
  dataset: Dataset,
  rows: readonly number[],
): Promise<FamilyInputs> {
  const texts = await featurizerTexts(
    manifest,
    featurizer,
    rows.map((r) => dataset.inputs[r] ?? {}),
  );
  return featurizeForFamily(texts, featurizer);
}

/** Some rows of a dataset as a dataset of its own (its own cache key, so scores are not mixed up). */
export function subsetDataset(d: Dataset, rows: readonly number[], tag: string): Dataset {
  return {
    key: `${d.key}#${tag}`,
    hash: `${d.hash}-${tag}`,
    inputs: rows.map((r) => d.inputs[r] ?? {}),
    ids: rows.map((r) => d.ids[r]),
    labels: Int32Array.from(rows, (r) => d.labels[r] ?? -1),
  };
}

/**
 * A dataset cut in two halves that keep near-duplicate groups together: one to fit on, one to
 * measure on, for a job whose spec gives no other split its figures could be held out on.
 */
export async function groupedHalves(manifest: EnsembleManifest, d: Dataset): Promise<{ fit: Dataset; held: Dataset }> {
  const halves = groupedFolds(await rowGroupKeys(manifest.input, d.inputs, d.ids), 2);
  const rows = (h: number) => halves.flatMap((x, i) => (x === h ? [i] : []));
  return { fit: subsetDataset(d, rows(0), 'fit-half'), held: subsetDataset(d, rows(1), 'held-half') };
}
