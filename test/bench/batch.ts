/**
 * Batch fusion throughput for BENCHMARKS.md: rows/s through the whole batch path (upload, queue,
 * parts, Durable Object, assembly) next to the same engine (onnxruntime-web wasm, one thread)
 * run in process on the same rows in the same chunks. The difference is the batch plumbing.
 */
import { readFile } from 'node:fs/promises';
import { batchClient } from '../../cli';
import type { Stack } from '../../infra/local-stack';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import type { EnsembleManifest, PredictInput } from '../../lib/schema';

const CHUNK_ROWS = 64; // BATCH_CHUNK_ROWS in wrangler.toml

interface BatchRun {
  name: string;
  rows: number;
  parts: number;
  batchSeconds: number;
  /** the same engine in the same Worker, called over HTTP in CHUNK_ROWS-row predicts */
  edgeSeconds: number;
  /** the same engine in this Node process (onnxruntime-web wasm, one thread) */
  nodeSeconds: number;
}

async function edgeEngineSeconds(stack: Stack, ensemble: string, inputs: PredictInput[]) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` };
  const predict = async (chunk: PredictInput[]) => {
    const send = () =>
      fetch(`${stack.edgeUrl}/v1/ensembles/${ensemble}/predict`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ inputs: chunk }),
      });
    // predict has no side effects: once more when undici hands out a socket the server closed
    const res = await send().catch(send);
    if (res.status !== 200) throw new Error(`predict ${ensemble}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  await predict(inputs.slice(0, CHUNK_ROWS));
  const t = performance.now();
  for (let i = 0; i < inputs.length; i += CHUNK_ROWS) await predict(inputs.slice(i, i + CHUNK_ROWS));
  return (performance.now() - t) / 1000;
}

async function engineSeconds(manifest: EnsembleManifest, inputs: PredictInput[], sessions: SessionCache) {
  await predictEnsemble(manifest, inputs.slice(0, CHUNK_ROWS), sessions); // sessions loaded, wasm warm
  const t = performance.now();
  for (let i = 0; i < inputs.length; i += CHUNK_ROWS) {
    await predictEnsemble(manifest, inputs.slice(i, i + CHUNK_ROWS), sessions);
  }
  return (performance.now() - t) / 1000;
}

async function batchSeconds(client: ReturnType<typeof batchClient>, ensemble: string, body: string, name: string) {
  await client.finished((await client.upload(body.slice(0, body.indexOf('\n') + 1), ensemble, `${name}-warm`)).id);
  const t = performance.now();
  const accepted = await client.upload(body, ensemble, name);
  const status = await client.finished(accepted.id, () => {}, 50);
  if (status.state !== 'done') throw new Error(`batch ${name}: ${status.state} ${status.failure ?? ''}`);
  return { seconds: (performance.now() - t) / 1000, parts: status.parts.total };
}

export async function batchSection(
  stack: Stack,
  manifest: EnsembleManifest,
  log: (...a: unknown[]) => void,
): Promise<string> {
  const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` };
  const member = manifest.members[0];
  if (!member) throw new Error('the spam manifest has no members');
  const one: EnsembleManifest = {
    ...manifest,
    name: `batch-${member.id}`,
    members: [member],
    fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
  };
  const res = await fetch(`${stack.edgeUrl}/v1/ensembles/${one.name}`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify(one),
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`publish ${one.name}: ${res.status}`);
  const sessions = new SessionCache(createWebBackend(), stack.store, 256 << 20);
  const client = batchClient(stack.edgeUrl, stack.adminToken);
  const runs: BatchRun[] = [];
  const sizes: [EnsembleManifest, number][] = [
    [manifest, Number(process.env.BENCH_BATCH_ROWS ?? 4_000)],
    [one, Number(process.env.BENCH_BATCH_ROWS_ONE ?? 10_000)],
  ];
  for (const [m, n] of sizes) {
    const inputs = Array.from({ length: n }, (_, i) => ({ message: reference[i % reference.length]?.message ?? '' }));
    const body = inputs.map((input, i) => `${JSON.stringify({ id: `r${i}`, input })}\n`).join('');
    // Over HTTP first: a long idle spell here would leave undici a pooled socket wrangler closed.
    const edgeSeconds = await edgeEngineSeconds(stack, m.name, inputs);
    const batch = await batchSeconds(client, m.name, body, `bench-${m.name}-${n}`);
    const nodeSeconds = await engineSeconds(m, inputs, sessions);
    runs.push({ name: m.name, rows: n, parts: batch.parts, batchSeconds: batch.seconds, edgeSeconds, nodeSeconds });
    log(
      `batch ${m.name}: ${n} rows, batch ${batch.seconds.toFixed(1)} s, edge engine ${edgeSeconds.toFixed(1)} s, node engine ${nodeSeconds.toFixed(1)} s`,
    );
  }
  const lines = runs.map((r) => {
    const overhead = r.batchSeconds / r.edgeSeconds - 1;
    const cells = [
      r.name,
      r.rows,
      r.parts,
      (r.rows / r.batchSeconds).toFixed(0),
      (r.rows / r.edgeSeconds).toFixed(0),
      (r.rows / r.nodeSeconds).toFixed(0),
      `${(100 * overhead).toFixed(0)} %`,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return `
## Batch fusion throughput

Rows/s through the batch path (POST the JSONL file, queue, parts, Durable Object, assembly, until
\`GET /v1/batches/{id}\` says done; local stack under wrangler dev) next to the same engine on the
same rows in the same ${CHUNK_ROWS}-row chunks: in the same Worker through \`/predict\` (edge engine:
the baseline, same isolate and wasm), and in this Node process (onnxruntime-web wasm, one
thread). Plumbing overhead = batch wall time / edge-engine time − 1 (target ≤ 25 %). The
edge-engine time includes one HTTP request per chunk (JSON in and out), which the batch path
replaces with its own reading, parsing and writing. Rows repeat the zoo's reference e-mails.

| ensemble | rows | parts | batch rows/s | edge engine rows/s | Node engine rows/s | plumbing overhead |
| -------- | ---: | ----: | -----------: | -----------------: | -----------------: | ----------------: |
${lines.join('\n')}
`;
}
