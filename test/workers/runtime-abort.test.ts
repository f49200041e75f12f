/**
 * Recovery from a runtime abort inside workerd: the real onnxruntime-web (wasm) backend, with a
 * test-only hook that makes one run throw what Emscripten's abort() throws. The request that hit
 * it degrades; the session cache drops every session of the dead runtime, and the next request
 * answers from freshly created sessions instead of 503 for good.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEdgeApp } from '../../functions/edge/app';
import { runtimeFor } from '../../functions/edge/context';
import { createWebBackend } from '../../lib/backends/onnx-web';
import type { InferenceBackend, ModelSession } from '../../lib/ensemble';
import { ADMIN, reference, seedZoo } from './zoo';

const web = createWebBackend({ wasmModule: ortWasm });
const hook = { abortNextRuns: 0, created: 0 };
const aborting: InferenceBackend = {
  name: web.name,
  async createSession(model, options): Promise<ModelSession> {
    const s = await web.createSession(model, options);
    hook.created++;
    return {
      ...s,
      run: async (inputs, output) => {
        if (hook.abortNextRuns > 0) {
          hook.abortNextRuns--;
          throw new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
        }
        return s.run(inputs, output);
      },
      release: () => s.release(),
    };
  },
};
const app = createEdgeApp(aborting);

async function predict(): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request('http://chorus.test/v1/ensembles/spam/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN },
      body: JSON.stringify({ inputs: [{ message: reference[0]?.message }] }),
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

beforeAll(async () => {
  await seedZoo();
});

describe('a runtime abort is recovered from', () => {
  it('the next request runs on fresh sessions and answers like before', { timeout: 60_000 }, async () => {
    const before = await predict();
    expect(before.status).toBe(200);
    const healthy = (await before.json()) as { predictions: { probabilities: Record<string, number> }[] };
    const sessions = runtimeFor(aborting, env).sessions;
    const members = sessions.size;
    expect(hook.created).toBe(members);

    hook.abortNextRuns = 1;
    const hit = await predict();
    expect([200, 503]).toContain(hit.status);
    expect(sessions.runtimeAborts).toBe(1);

    const after = await predict();
    expect(after.status).toBe(200);
    const answer = (await after.json()) as {
      degraded?: unknown[];
      predictions: { probabilities: Record<string, number> }[];
    };
    expect(answer.degraded ?? []).toHaveLength(0);
    expect(hook.created).toBe(2 * members);
    expect(answer.predictions[0]?.probabilities.spam).toBeCloseTo(healthy.predictions[0]?.probabilities.spam ?? -1, 6);
  });
});
