import { ChorusError } from '../errors';
import type { SparseRow } from './model';

export function checkLabels(labels: ArrayLike<number>, rows: number, classes: number): void {
  if (rows === 0) throw new ChorusError('invalid_argument', 'training needs at least one example');
  if (labels.length !== rows) throw new ChorusError('shape_mismatch', `${labels.length} labels for ${rows} examples`);
  if (!Number.isInteger(classes) || classes < 2)
    throw new ChorusError('invalid_argument', `classes must be an integer >= 2, got ${classes}`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new ChorusError('invalid_argument', `label ${i} is ${y}, expected an integer in [0, ${classes})`);
    }
  }
}

export function checkSparseRows(rows: readonly SparseRow[], dim: number): void {
  rows.forEach((r, i) => {
    if (r.indices.length !== r.values.length)
      throw new ChorusError('shape_mismatch', `row ${i}: ${r.indices.length} indices, ${r.values.length} values`);
    for (let j = 0; j < r.indices.length; j++) {
      const idx = r.indices[j] as number;
      if (idx < 0 || idx >= dim) throw new ChorusError('shape_mismatch', `row ${i}: index ${idx} outside [0, ${dim})`);
      if (!Number.isFinite(r.values[j] as number))
        throw new ChorusError('not_finite', `row ${i}: value ${j} is ${r.values[j]}`);
    }
  });
}

export function checkPositive(name: string, value: number, integer = false): void {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ChorusError(
      'invalid_argument',
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`,
    );
  }
}
