import { expect } from 'vitest';

/** Asserts two numeric arrays agree element-wise within `tol` (absolute). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`index ${i}: ${a} differs from ${e} by ${Math.abs(a - e)} (tolerance ${tol})`);
    }
  }
}
