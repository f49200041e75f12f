/** Assertions on the Worker's error answers, shared by the suites that send bad requests. */
import { afterAll, expect, vi } from 'vitest';

/** An RFC 9457 answer with this status and documented code; answers its body for further checks. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(res.status, `${res.url} ${await res.clone().text()}`).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(String(body.detail ?? '').length).toBeGreaterThan(0);
  return body;
}

/** Fails the file if any request in it reached the app's unhandled-error path (a bug, logged). */
export function failOnUnhandledErrors(): void {
  const errors = vi.spyOn(console, 'error');
  afterAll(() => {
    expect(errors.mock.calls.filter((c) => String(c[0]).includes('unhandled'))).toEqual([]);
  });
}
