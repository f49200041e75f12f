/** Helpers for the batch tests: a cheap one-member ensemble, files, notifications and the consumer. */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { type BatchDeps, batchDepsFromEnv, consumeBatchQueue } from '../../functions/edge/batch';
import { runtimeFor } from '../../functions/edge/context';
import worker from '../../functions/edge/index';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { batchIdOf } from '../../lib/batch';
import type { BatchPartMessage, BatchStatus, EnsembleManifest, R2ObjectEvent } from '../../lib/schema';
import { batchKeys } from '../../lib/store';
import { putJson, seedZoo, spamManifest } from './zoo';

/** One int8 logistic regression over subject + headers: fast enough for 10,000 rows on 2 cores. */
export const CHEAP = 'headers-only';
/** The cheap ensemble's manifest (version 1; seedCheapEnsemble puts its model in the bucket). */
export function cheapManifest(): EnsembleManifest {
  return {
    ...structuredClone(spamManifest),
    name: CHEAP,
    members: [structuredClone(spamManifest.members[0] as EnsembleManifest['members'][number])],
    fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
  };
}

export async function seedCheapEnsemble(): Promise<EnsembleManifest> {
  await seedZoo();
  const manifest = cheapManifest();
  const res = await putJson(`/v1/ensembles/${CHEAP}`, manifest);
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
  return manifest;
}

export const lineOf = (i: number, id = `r${i}`) =>
  JSON.stringify({ id, input: { message: `Subject: offer ${i}\nFrom: a${i % 7}@example.com\n\nhello ${i}` } });

/** Stores `bytes` under an incoming key and returns R2's notification body for it. */
export async function dropFile(name: string, bytes: Uint8Array | string, ensemble = CHEAP): Promise<R2ObjectEvent> {
  const key = `batches/incoming/${ensemble}/${name}.jsonl`;
  const obj = await env.BUCKET.put(key, bytes);
  if (!obj) throw new Error('put failed');
  return {
    account: 'test',
    action: 'PutObject',
    bucket: 'chorus-dev',
    object: { key, size: obj.size, eTag: obj.etag },
    eventTime: new Date().toISOString(),
  };
}

export const batchOf = (event: R2ObjectEvent) => batchIdOf(event.object.key, event.object.eTag ?? '');

/** The consumer's dependencies from the test bindings; `queue` captures fanned-out parts instead of sending. */
export function testDeps(overrides: Partial<BatchDeps> = {}, settings: Partial<BatchDeps['settings']> = {}) {
  const runtime = runtimeFor(createWebBackend({ wasmModule: ortWasm }), env);
  const base = batchDepsFromEnv(env, runtime);
  const sent: BatchPartMessage[] = [];
  const queue = {
    send: async (body: BatchPartMessage) => void sent.push(body),
    sendBatch: async (msgs: Iterable<{ body: BatchPartMessage }>) => {
      for (const m of msgs) sent.push(m.body);
    },
  } as unknown as Queue;
  const deps: BatchDeps = { ...base, queue, ...overrides, settings: { ...base.settings, ...settings } };
  return { deps, sent };
}

/** Lines joined with LF (each line ends in one); a Uint8Array line is taken as raw bytes. */
export function joinBytes(lines: (string | Uint8Array)[]): Uint8Array {
  const parts = lines.map((l) => (typeof l === 'string' ? new TextEncoder().encode(l) : l));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    out[at + p.length] = 0x0a;
    at += p.length + 1;
  }
  return out;
}

let seq = 0;
/** Delivers bodies to the consumer as one batch (attempts as given) and returns the queue's verdict. */
export async function deliver(deps: BatchDeps, bodies: unknown[], attempts = 1, queue = 'chorus-batches') {
  const batch = createMessageBatch(
    queue,
    bodies.map((body) => ({ id: `m${++seq}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  if (queue.endsWith('-dlq')) await worker.queue(batch, env);
  else await consumeBatchQueue(batch, deps);
  return getQueueResult(batch, ctx);
}

export async function statusOf(batch: string): Promise<BatchStatus | null> {
  return env.BATCHES.get(env.BATCHES.idFromName(batch)).status();
}

export async function filesOf(batch: string) {
  const text = async (key: string) => (await (await env.BUCKET.get(key))?.text()) ?? null;
  const keys = batchKeys(batch);
  const [results, errors] = [await text(keys.results), await text(keys.errors)];
  const rows = (t: string | null) =>
    (t ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  return { results, errors, resultRows: rows(results), errorRows: rows(errors) };
}
