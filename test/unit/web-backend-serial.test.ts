/**
 * onnxruntime-web keeps a run's argument arrays on its wasm stack across awaits, so two runs in
 * flight at once restore the stack out of order and, ~34,000 four-member predicts later, abort
 * the wasm instance for good (BENCHMARKS.md, soak). The web backend must therefore never have two
 * calls inside onnxruntime-web at once, even though the engine runs an ensemble's members
 * concurrently. This watches the real onnxruntime-web entry points while the real engine runs
 * the spam zoo, and checks the answers are the ones run one member at a time.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web/wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import { EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';

const manifest = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
const reference = JSON.parse(readFileSync('models/spam/reference.json', 'utf8')) as { message: string }[];

const watch = { inFlight: 0, most: 0, calls: 0 };
// the class behind onnxruntime-common's InferenceSession factory: every session's run and release
const proto = (
  ort.InferenceSession as unknown as { prototype: Record<'run' | 'release', (...a: unknown[]) => unknown> }
).prototype;
const original = { run: proto.run, release: proto.release };

beforeAll(() => {
  for (const name of ['run', 'release'] as const) {
    const real = original[name];
    proto[name] = async function (this: unknown, ...args: unknown[]) {
      watch.calls++;
      watch.most = Math.max(watch.most, ++watch.inFlight);
      try {
        return await real.apply(this, args);
      } finally {
        watch.inFlight--;
      }
    };
  }
});

afterAll(() => {
  proto.run = original.run;
  proto.release = original.release;
});

async function zooCache(): Promise<SessionCache> {
  const store = new MemoryBlobStore();
  for (const m of manifest.members) {
    await store.put(m.model.key, readFileSync(`models/spam/${m.id}.${m.variant ?? 'int8'}.onnx`));
  }
  return new SessionCache(createWebBackend(), store, 1 << 30, 'all');
}

describe('onnxruntime-web is entered by one call at a time', () => {
  it('concurrent predicts of a four-member ensemble never overlap inside it', async () => {
    const cache = await zooCache();
    const messages = reference.slice(0, 8).map((r) => ({ message: r.message }));
    // one member at a time: the answers to compare against
    const alone: unknown[] = [];
    watch.calls = 0;
    for (const m of messages) alone.push((await predictEnsemble(manifest, [m], cache)).predictions[0]?.probabilities);
    const runs = watch.calls; // members that abstain on a message are not run
    expect(runs).toBeGreaterThan(messages.length);
    watch.most = 0;
    watch.calls = 0;
    // every member of every message at once, as a busy isolate sees them
    const together = await Promise.all(messages.map((m) => predictEnsemble(manifest, [m], cache)));
    expect(watch.calls).toBe(runs);
    expect(watch.most).toBe(1);
    expect(together.map((p) => p.predictions[0]?.probabilities)).toEqual(alone);
    await cache.clear();
    expect(watch.inFlight).toBe(0);
  });
});
