/**
 * Dequantize-at-load: folded and unfolded sessions give the same member outputs on both runtimes,
 * the session cache counts what sessions hold (not what files weigh), and a run that aborts the
 * runtime empties the cache so the next request builds fresh sessions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import {
  type InferenceBackend,
  type ModelSession,
  parseFoldPolicy,
  predictEnsemble,
  SessionCache,
} from '../../lib/ensemble';
import { EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';

const manifest = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
const reference = JSON.parse(readFileSync('models/spam/reference.json', 'utf8')) as { message: string }[];
const inputs = reference.slice(0, 24).map((r) => ({ message: r.message }));
const fileBytes = (id: string, variant: string) => readFileSync(`models/spam/${id}.${variant}.onnx`);

async function zooStore(): Promise<MemoryBlobStore> {
  const store = new MemoryBlobStore();
  for (const m of manifest.members) await store.put(m.model.key, fileBytes(m.id, m.variant ?? 'int8'));
  return store;
}

type Members = Record<string, Record<string, number>>;
const memberOutputs = async (sessions: SessionCache): Promise<Members[]> =>
  (await predictEnsemble(manifest, inputs, sessions, { returnMembers: true })).predictions.map(
    (p) => (p.members ?? {}) as Members,
  );

describe('int8 weights dequantized once at load', () => {
  it.each([
    ['onnxruntime-node', createNodeBackend()],
    ['onnxruntime-web', createWebBackend()],
  ] as const)('%s: every member answers as the unfolded graph does (1e-6)', async (_name, backend) => {
    const store = await zooStore();
    const folded = await memberOutputs(new SessionCache(backend, store, 1 << 30, 'all'));
    const unfolded = await memberOutputs(new SessionCache(backend, store, 1 << 30, 'none'));
    let compared = 0;
    folded.forEach((members, i) => {
      for (const [id, probs] of Object.entries(members)) {
        for (const [label, p] of Object.entries(probs)) {
          expect(Math.abs(p - (unfolded[i]?.[id]?.[label] ?? Number.NaN))).toBeLessThan(1e-6);
          compared++;
        }
      }
    });
    expect(compared).toBeGreaterThan(inputs.length * 2);
  });

  it('the cache counts resident bytes: 4× an int8 file folded, the file unfolded', async () => {
    const store = await zooStore();
    const files = manifest.members.reduce((sum, m) => sum + m.model.bytes, 0);
    const folded = new SessionCache(createNodeBackend(), store, 1 << 30, 'all');
    const unfolded = new SessionCache(createNodeBackend(), store, 1 << 30, 'none');
    for (const m of manifest.members) {
      await folded.session(m);
      await unfolded.session(m);
    }
    expect(folded.residentBytes).toBe(4 * files);
    expect(unfolded.residentBytes).toBe(files);
    const first = manifest.members[0];
    if (!first) throw new Error('zoo has members');
    const some = new SessionCache(createNodeBackend(), store, 1 << 30, [first.id]);
    for (const m of manifest.members) await some.session(m);
    expect(some.residentBytes).toBe(files + 3 * first.model.bytes);
  });

  it('a budget below the folded size evicts by resident bytes', async () => {
    const store = await zooStore();
    const files = manifest.members.reduce((sum, m) => sum + m.model.bytes, 0);
    const cache = new SessionCache(createNodeBackend(), store, 2 * files, 'all');
    for (const m of manifest.members) await cache.session(m);
    await new Promise((r) => setTimeout(r, 0));
    expect(cache.residentBytes).toBeLessThanOrEqual(2 * files);
    expect(cache.size).toBeLessThan(manifest.members.length);
  });

  it('FOLD_QUANTIZATION: all, none or member ids', () => {
    expect(parseFoldPolicy(undefined)).toBe('all');
    expect(parseFoldPolicy('all')).toBe('all');
    expect(parseFoldPolicy('none')).toBe('none');
    expect(parseFoldPolicy('body-nb, urls-logreg')).toEqual(['body-nb', 'urls-logreg']);
  });
});

describe('a runtime abort empties the session cache', () => {
  /** onnxruntime-node whose sessions abort like the wasm does, on the runs a test arms. */
  function abortingBackend() {
    const inner = createNodeBackend();
    const state = { armed: 0, created: 0, released: 0 };
    const backend: InferenceBackend = {
      name: 'test/aborting',
      async createSession(model, options): Promise<ModelSession> {
        const s = await inner.createSession(model, options);
        state.created++;
        return {
          ...s,
          run: async (feeds, out) => {
            if (state.armed > 0) {
              state.armed--;
              throw new Error('Aborted(). Build with -sASSERTIONS for more info.');
            }
            return s.run(feeds, out);
          },
          release: async () => {
            state.released++;
            await s.release();
          },
        };
      },
    };
    return { backend, state };
  }

  it('the aborted request degrades, the next one runs on fresh sessions', async () => {
    const { backend, state } = abortingBackend();
    const cache = new SessionCache(backend, await zooStore(), 1 << 30);
    const healthy = await predictEnsemble(manifest, inputs.slice(0, 1), cache);
    expect(state.created).toBe(manifest.members.length);
    state.armed = 1;
    const hit = await predictEnsemble(manifest, inputs.slice(0, 1), cache).catch((e: unknown) => e);
    expect(cache.runtimeAborts).toBe(1);
    expect(hit).toBeDefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(state.released).toBe(manifest.members.length);
    const after = await predictEnsemble(manifest, inputs.slice(0, 1), cache);
    expect(state.created).toBe(2 * manifest.members.length);
    expect(after.predictions[0]?.probabilities).toEqual(healthy.predictions[0]?.probabilities);
  });

  it('an ordinary run error leaves the cache alone', async () => {
    const { backend, state } = abortingBackend();
    const cache = new SessionCache(backend, await zooStore(), 1 << 30);
    const member = manifest.members[0];
    if (!member) throw new Error('zoo has members');
    const session = await cache.session(member);
    await expect(session.run({}, 'probabilities')).rejects.toThrow();
    expect(cache.runtimeAborts).toBe(0);
    expect(cache.size).toBe(1);
    expect(state.created).toBe(1);
  });
});
