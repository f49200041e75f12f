/**
 * Edge vs native without the distortions of the first benchmark: the Worker in workerd through
 * Miniflare's API (no `wrangler dev` proxy), the native server in a process of its own, load from
 * autocannon in a process of its own; at concurrency 1 (latency) and at saturation (throughput).
 * Plus in-process native ms/message at batch 1 and 32 (weights folded at load vs dequantized per
 * run) and a per-stage breakdown measured in Node with the same lib code (performance.now() does
 * not advance inside a Workers request).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { Featurizer, type FoldPolicy, type InputTensor, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { featurizeSparseRows, featurizeText, parseEmail } from '../../lib/features';
import { fuse } from '../../lib/fusion';
import type { EnsembleManifest } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';
import { freePort } from '../e2e/ports';
import { startReadyProcess } from './child';
import { startMiniflareEdge } from './miniflare-edge';
import { seedSpam } from './seed';
import { soakSection } from './soak-report';

const ADMIN = 'bench-admin-token';
const fmt = (v: number, d = 1) => v.toFixed(d);

export interface Cannon {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  non2xx: number;
  connections: number;
}

/**
 * autocannon in its own process (test/bench/cannon.ts): `amount` requests over `connections`,
 * after a warm-up of 50 at c=1; latency from every response's own duration.
 */
export async function autocannon(
  url: string,
  options: { connections: number; amount: number; body?: string; headers?: Record<string, string> },
): Promise<Cannon> {
  const script = join(process.cwd(), 'test/bench/cannon.ts');
  const spec = {
    url,
    connections: options.connections,
    amount: options.amount,
    ...(options.body === undefined
      ? {}
      : { method: 'POST', body: options.body, headers: { 'content-type': 'application/json', ...options.headers } }),
    ...(options.body === undefined && options.headers ? { headers: options.headers } : {}),
  };
  const run = (s: typeof spec) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(s)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`autocannon exited ${code}`))));
    });
  await run({ ...spec, connections: 1, amount: 50 });
  const r = JSON.parse(await run(spec)) as Omit<Cannon, 'connections'>;
  return { ...r, connections: options.connections };
}

async function startNativeProcess(): Promise<{ url: string; child: ChildProcess }> {
  return startReadyProcess('test/bench/native-process.ts', { PORT: String(await freePort()) });
}

/** ms per message in-process (native), `batch` messages per call. */
async function perMessage(
  manifest: EnsembleManifest,
  messages: string[],
  store: MemoryBlobStore,
  fold: FoldPolicy,
  batch: number,
): Promise<number> {
  const cache = new SessionCache(createNodeBackend(), store, 1 << 30, fold);
  // cycle the messages so every batch size gets whole batches
  const pool = Array.from(
    { length: Math.max(messages.length, 2 * batch) },
    (_, i) => messages[i % messages.length] ?? '',
  );
  const batches: { message: string }[][] = [];
  for (let i = 0; i + batch <= pool.length; i += batch) {
    batches.push(pool.slice(i, i + batch).map((message) => ({ message })));
  }
  for (const b of batches.slice(0, 3)) await predictEnsemble(manifest, b, cache);
  const rounds = Math.max(1, Math.ceil(600 / (batches.length * batch)));
  const t = performance.now();
  for (let r = 0; r < rounds; r++) for (const b of batches) await predictEnsemble(manifest, b, cache);
  const ms = (performance.now() - t) / (rounds * batches.length * batch);
  await cache.clear();
  return ms;
}

/** Per-stage ms per message (batch 1), each stage timed alone over the same messages. */
async function stages(
  manifest: EnsembleManifest,
  messages: string[],
  store: MemoryBlobStore,
): Promise<[string, number][]> {
  const out: [string, number][] = [];
  const time = async (name: string, f: (m: string, i: number) => unknown) => {
    for (const [i, m] of messages.slice(0, 10).entries()) await f(m, i);
    const t = performance.now();
    for (const [i, m] of messages.entries()) await f(m, i);
    out.push([name, (performance.now() - t) / messages.length]);
  };
  await time('parse (MIME → views)', (m) => parseEmail(m));
  const views = await Promise.all(messages.map((m) => parseEmail(m)));
  const seen = new Set<string>();
  for (const member of manifest.members) {
    const f = member.featurizer;
    const key = JSON.stringify(f);
    if (seen.has(key) || f.kind !== 'hashed-ngrams') continue;
    seen.add(key);
    // the form the member is served in: sparse (ids + values) rows, or the dense row / ids
    const layout = f.layout === 'sparse' ? ' sparse' : '';
    await time(
      `featurize ${f.view ?? 'body'} ${f.unit ?? ''} ${f.output ?? 'counts'}${layout} (${member.id})`,
      (_m, i) => {
        const text = (views[i] ?? views[0])?.[f.view ?? 'body'] ?? '';
        return f.layout === 'sparse' ? featurizeSparseRows([text], f) : featurizeText(text, f);
      },
    );
  }
  const cache = new SessionCache(createNodeBackend(), store, 1 << 30, 'all');
  for (const member of manifest.members) {
    const session = await cache.session(member);
    const feeds: Record<string, InputTensor>[] = [];
    for (const m of messages) feeds.push(await new Featurizer(manifest.input, [{ message: m }]).feedsFor(member));
    await time(`session ${member.id}`, (_m, i) =>
      session.run(feeds[i] as Record<string, InputTensor>, member.outputName),
    );
  }
  await cache.clear();
  const probs = manifest.members.map(() => Float64Array.from([0.3, 0.7]));
  const meta = manifest.fusion.metaLearner;
  await time(`fusion (${manifest.fusion.strategy})`, () =>
    fuse(manifest.fusion.strategy === 'stacking' ? 'stacking' : 'soft', probs, meta ? { metaLearner: meta } : {}),
  );
  return out;
}

export interface EdgeNativeResult {
  markdown: string;
}

export async function edgeNativeSection(options: {
  root: string;
  manifest: EnsembleManifest;
  messages: string[];
  /** the wrangler dev stack's URL and auth header, for the reference row at c=1 */
  wranglerDev?: { url: string; headers: Record<string, string> };
  log: (...a: unknown[]) => void;
}): Promise<string> {
  const { manifest, messages, log } = options;
  const store = new MemoryBlobStore();
  let files = 0;
  for (const m of manifest.members) {
    const bytes = await readFile(join(options.root, 'models/spam', `${m.id}.${m.variant ?? 'int8'}.onnx`));
    await store.put(m.model.key, bytes);
    files += bytes.byteLength;
  }
  // In-process native, before (dequantized per run) and after (folded at load).
  const inproc = {
    b1Before: await perMessage(manifest, messages, store, 'none', 1),
    b1After: await perMessage(manifest, messages, store, 'all', 1),
    b32Before: await perMessage(manifest, messages, store, 'none', 32),
    b32After: await perMessage(manifest, messages, store, 'all', 32),
  };
  log(
    `native in-process ms/message: batch 1 ${fmt(inproc.b1Before, 2)} → ${fmt(inproc.b1After, 2)}, batch 32 ${fmt(inproc.b32Before, 2)} → ${fmt(inproc.b32After, 2)}`,
  );
  const stageRows = await stages(manifest, messages.slice(0, 200), store);
  const stageSum = stageRows.reduce((s, [, v]) => s + v, 0);

  const body = JSON.stringify({ inputs: [{ message: messages[0] }] });
  const auth = { authorization: `Bearer ${ADMIN}` };
  const edge = await startMiniflareEdge({ root: options.root, port: await freePort(), vars: { ADMIN_TOKEN: ADMIN } });
  const native = await startNativeProcess();
  try {
    await seedSpam(edge, options.root, ADMIN);
    let t = performance.now();
    const first = await fetch(`${edge.url}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body,
    });
    await first.arrayBuffer();
    const coldMs = performance.now() - t;
    if (!first.ok) throw new Error(`edge predict: ${first.status}`);
    t = performance.now();
    await (await fetch(`${native.url}/v1/ensembles/spam/predict`, { method: 'POST', body })).arrayBuffer();
    const nativeColdMs = performance.now() - t;
    log(`cold first answer: edge (Miniflare) ${fmt(coldMs, 0)} ms, native ${fmt(nativeColdMs, 0)} ms`);

    const predict = (base: string) => `${base}/v1/ensembles/spam/predict`;
    const amount1 = Number(process.env.BENCH_C1_REQUESTS ?? 1000);
    const amountSat = Number(process.env.BENCH_SAT_REQUESTS ?? 3000);
    const sat = Number(process.env.BENCH_SAT_CONNECTIONS ?? 8);
    const rows = {
      edgeHealth: await autocannon(`${edge.url}/healthz`, { connections: 1, amount: amount1 }),
      nativeHealth: await autocannon(`${native.url}/healthz`, { connections: 1, amount: amount1 }),
      edge1: await autocannon(predict(edge.url), { connections: 1, amount: amount1, body, headers: auth }),
      native1: await autocannon(predict(native.url), { connections: 1, amount: amount1, body }),
      dev1: options.wranglerDev
        ? await autocannon(predict(options.wranglerDev.url), {
            connections: 1,
            amount: Math.min(amount1, 500),
            body,
            headers: options.wranglerDev.headers,
          })
        : undefined,
      edgeSat: await autocannon(predict(edge.url), { connections: sat, amount: amountSat, body, headers: auth }),
      nativeSat: await autocannon(predict(native.url), { connections: sat, amount: amountSat, body }),
    };
    for (const [k, v] of Object.entries(rows)) {
      if (v)
        log(
          `${k}: p50 ${fmt(v.p50, 2)} mean ${fmt(v.mean, 2)} p99 ${fmt(v.p99, 2)} rps ${fmt(v.rps, 0)} non2xx ${v.non2xx}`,
        );
    }
    const ratio1 = rows.edge1.p50 / rows.native1.p50;
    const ratioMean1 = rows.edge1.mean / rows.native1.mean;
    const ratioDev = rows.dev1 ? rows.dev1.p50 / rows.native1.p50 : Number.NaN;
    const thr = rows.edgeSat.rps / rows.nativeSat.rps;
    const ok = (v: boolean) => (v ? 'met' : '**missed**');
    const row = (name: string, c: Cannon | undefined) =>
      c
        ? `| ${name} | ${c.connections} | ${fmt(c.p50, 2)} | ${fmt(c.mean, 2)} | ${fmt(c.p99, 2)} | ${fmt(c.rps, 0)} | ${c.non2xx} |`
        : '';
    const soak = await soakSection(options.root);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    return `
## Edge in workerd through Miniflare (no dev proxy) vs native in its own process

The Worker bundle \`wrangler deploy --dry-run\` builds, run by Miniflare's API (workerd; requests on
a socket straight to the Worker, \`unsafeDirectSockets\`), models in its R2 binding; the native server
(test/bench/native-process.ts, onnxruntime-node, one intra-op thread) in a process of its own;
load from autocannon in a process of its own (test/bench/cannon.ts), latency from every
response's own duration (autocannon's histogram keeps whole milliseconds). Both sides fold int8
weights at load (\`FOLD_QUANTIZATION=all\`).

| target | c | p50 | mean | p99 | req/s | non-2xx |
|---|---:|---:|---:|---:|---:|---:|
${row('edge (Miniflare) GET /healthz', rows.edgeHealth)}
${row('native GET /healthz', rows.nativeHealth)}
${row('edge (Miniflare) spam predict', rows.edge1)}
${row('native spam predict', rows.native1)}
${row('edge (wrangler dev, reference) spam predict', rows.dev1)}
${row('edge (Miniflare) spam predict, saturation', rows.edgeSat)}
${row('native spam predict, saturation', rows.nativeSat)}

| measure | value | target | |
|---|---:|---:|---|
| native in-process ensemble, ms/message, batch 1 (dequantized per run → folded at load) | ${fmt(inproc.b1Before, 2)} → **${fmt(inproc.b1After, 2)}** | ≤ 1.5 | ${ok(inproc.b1After <= 1.5)} |
| native in-process ensemble, ms/message, batch 32 | ${fmt(inproc.b32Before, 2)} → **${fmt(inproc.b32After, 2)}** | ≤ 1.0 | ${ok(inproc.b32After <= 1.0)} |
| edge (Miniflare) / native p50, c=1 | **${fmt(ratio1, 2)}×** (mean ${fmt(ratioMean1, 2)}×) | ≤ 1.3× | ${ok(ratio1 <= 1.3)} |
| edge (wrangler dev) / native p50, c=1 | ${fmt(ratioDev, 2)}× | — | |
| throughput at saturation (c=${sat}), edge / native | ${fmt(thr, 2)}× (${fmt(rows.edgeSat.rps, 0)} vs ${fmt(rows.nativeSat.rps, 0)} req/s) | stated | |
| cold first answer, fresh isolate (wasm init, ${manifest.members.length} models from R2, sha256, sessions) | ${fmt(coldMs, 0)} ms | ≤ 200 ms | ${ok(coldMs <= 200)} |
| resident ensemble weights (folded to fp32: 4 × the ${mib(files)} of int8 files) | ${mib(4 * files)} | stated | |

### Where one native prediction's time goes (batch 1, in-process, Node, same lib code)

| stage | ms/message |
|---|---:|
${stageRows.map(([n, v]) => `| ${n} | ${fmt(v, 3)} |`).join('\n')}
| sum of stages | ${fmt(stageSum, 3)} |
| whole in-process prediction (engine overhead = difference) | ${fmt(inproc.b1After, 3)} |
| HTTP, native (c=1 mean − in-process) | ${fmt(rows.native1.mean - inproc.b1After, 3)} |
| HTTP, edge (healthz mean, Miniflare) | ${fmt(rows.edgeHealth.mean, 3)} |
${soak}`;
  } finally {
    native.child.kill('SIGTERM');
    await edge.stop();
  }
}
