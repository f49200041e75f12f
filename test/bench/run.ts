/**
 * `npm run bench`: measures side by side in one run and writes BENCHMARKS.md.
 * Edge = the Worker under wrangler dev (workerd, onnxruntime-web wasm, models from local S3);
 * native = the same engine in a plain Node server over onnxruntime-node. Ratios matter more
 * than absolute numbers: the machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createNodeBackend } from '../../functions/container/onnx-node';
import { startStack } from '../../infra/local-stack';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { freePort } from '../e2e/ports';
import { type LatencyStats, measure } from './load';
import { startNativeServer } from './native-server';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const root = process.cwd();
const log = (...a: unknown[]) => console.error('[bench]', ...a);

const manifest = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));
const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];
const body = JSON.stringify({ inputs: [{ message: reference[0]?.message }] });

function single(memberId: string): EnsembleManifest {
  const member = manifest.members.find((m) => m.id === memberId);
  if (!member) throw new Error(memberId);
  return {
    ...manifest,
    name: `spam-${memberId}`,
    members: [member],
    fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
  };
}

async function bundleGzipBytes(): Promise<{ raw: number; gzip: number; files: string[] }> {
  const out = await mkdtemp(join(tmpdir(), 'chorus-bundle-'));
  const r = spawnSync(
    process.execPath,
    ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', out],
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed: ${r.stderr}`);
  let raw = 0;
  let gzip = 0;
  const files: string[] = [];
  for (const f of await readdir(out)) {
    const p = join(out, f);
    if (!(await stat(p)).isFile() || f.endsWith('.map') || f === 'README.md') continue;
    const bytes = await readFile(p);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    files.push(f);
  }
  await rm(out, { recursive: true, force: true });
  return { raw, gzip, files };
}

/** In-process split of one request: featurize + inference vs fusion, native backend. */
async function fusionOverhead(store: SessionCache): Promise<{ total: number; fusion: number }> {
  const { fuse } = await import('../../lib/fusion');
  const inputs = [{ message: reference[0]?.message ?? '' }];
  await predictEnsemble(manifest, inputs, store);
  const n = 200;
  let t = performance.now();
  for (let i = 0; i < n; i++) await predictEnsemble(manifest, inputs, store);
  const total = (performance.now() - t) / n;
  const probs = manifest.members.map(() => Float64Array.from([0.3, 0.7]));
  const meta = manifest.fusion.metaLearner;
  t = performance.now();
  for (let i = 0; i < 10_000; i++) fuse('stacking', probs, meta ? { metaLearner: meta, temperature: 0.9 } : {});
  const fusion = (performance.now() - t) / 10_000;
  return { total, fusion };
}

const fmt = (v: number, d = 1) => v.toFixed(d);

async function main() {
  const stateDir = await mkdtemp(join(tmpdir(), 'chorus-bench-'));
  const stack = await startStack({
    root,
    stateDir,
    s3Port: await freePort(),
    edgePort: await freePort(),
    containerPort: await freePort(),
    log,
  });
  const native = startNativeServer(stack.store, {}, await freePort());
  try {
    // Cold: the first predict of a fresh isolate loads the wasm, fetches and verifies 4 models.
    let t = performance.now();
    const first = await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await first.arrayBuffer();
    const coldMs = performance.now() - t;
    t = performance.now();
    await (
      await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    ).arrayBuffer();
    const warmMs = performance.now() - t;
    log(`cold first answer ${fmt(coldMs)} ms, second ${fmt(warmMs)} ms`);

    const ensembles: EnsembleManifest[] = [manifest, ...manifest.members.map((m) => single(m.id))];
    for (const e of ensembles.slice(1)) {
      const res = await fetch(`${stack.edgeUrl}/v1/ensembles/${e.name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
        body: JSON.stringify(e),
      });
      if (res.status !== 201) throw new Error(`publish ${e.name}: ${res.status}`);
    }
    const nativeManifests = Object.fromEntries(ensembles.map((e) => [e.name, e]));
    const nativeServer = startNativeServer(stack.store, nativeManifests, await freePort());
    await native.close();

    const rows: { name: string; edge: LatencyStats; native: LatencyStats }[] = [];
    const opts = { requests: REQUESTS, concurrency: CONCURRENCY, warmup: 20 };
    // The HTTP path alone (no model): what each server costs before any inference.
    const baseline = {
      name: 'GET /healthz (no inference)',
      edge: await measure(`${stack.edgeUrl}/healthz`, undefined, opts),
      native: await measure(`${nativeServer.url}/healthz`, undefined, opts),
    };
    for (const e of ensembles) {
      const edge = await measure(`${stack.edgeUrl}/v1/ensembles/${e.name}/predict`, body, opts);
      const nat = await measure(`${nativeServer.url}/v1/ensembles/${e.name}/predict`, body, opts);
      rows.push({ name: e.name, edge, native: nat });
      log(`${e.name}: edge p50 ${fmt(edge.p50)} p99 ${fmt(edge.p99)} | native p50 ${fmt(nat.p50)} p99 ${fmt(nat.p99)}`);
    }
    rows.push(baseline);
    await nativeServer.close();

    const split = await fusionOverhead(new SessionCache(createNodeBackend(), stack.store, 256 << 20));
    const bundle = await bundleGzipBytes();
    await writeReport({ rows, coldMs, warmMs, split, bundle });
  } finally {
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function writeReport(r: {
  rows: { name: string; edge: LatencyStats; native: LatencyStats }[];
  coldMs: number;
  warmMs: number;
  split: { total: number; fusion: number };
  bundle: { raw: number; gzip: number; files: string[] };
}) {
  const full = r.rows[0];
  const base = r.rows[r.rows.length - 1];
  if (!full || !base) throw new Error('no rows');
  const singles = r.rows.slice(1, -1);
  const computeRatio = (full.edge.p50 - base.edge.p50) / (full.native.p50 - base.native.p50);
  const slowestSingle = singles.reduce((a, b) => (b.edge.p50 > a.edge.p50 ? b : a));
  const fastestSingle = singles.reduce((a, b) => (b.edge.p50 < a.edge.p50 ? b : a));
  const edgeNative = full.edge.p50 / full.native.p50;
  const ensOne = full.edge.p50 / slowestSingle.edge.p50;
  const ensFastest = full.edge.p50 / fastestSingle.edge.p50;
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;
  const ok = (v: boolean) => (v ? 'met' : '**missed**');
  const table = r.rows
    .map(
      (x) =>
        `| ${x.name} | ${fmt(x.edge.p50)} | ${fmt(x.edge.p99)} | ${fmt(x.edge.rps, 0)} | ${fmt(x.native.p50)} | ${fmt(x.native.p99)} | ${fmt(x.native.rps, 0)} | ${fmt(x.edge.p50 / x.native.p50, 2)}× |`,
    )
    .join('\n');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const md = `# Benchmarks

Generated by \`npm run bench\` (test/bench/run.ts); numbers from one run on ${cpus().length} × ${cpu}.
Edge = the Worker under \`wrangler dev\` (workerd, onnxruntime-web wasm, one thread, models from the
local S3 server). Native = the same engine and manifests in a plain Node server over
onnxruntime-node (one intra-op thread). Both are driven over loopback HTTP by the same closed-loop
client: ${REQUESTS} requests per row at concurrency ${CONCURRENCY}, after 20 warm-up requests; one
e-mail per request. Latencies in ms. Shared, noisy machine: read the ratios.

## Edge vs native, ensemble vs one member

| ensemble | edge p50 | edge p99 | edge req/s | native p50 | native p99 | native req/s | edge/native p50 |
|---|---:|---:|---:|---:|---:|---:|---:|
${table}

| ratio | value | target | |
|---|---:|---:|---|
| edge / native p50, spam ensemble | ${fmt(edgeNative, 2)}× | ≤ 1.5× | ${ok(edgeNative <= 1.5)} |
| same, HTTP baseline (healthz p50) subtracted on both sides | ${fmt(computeRatio, 2)}× | — | |
| ensemble / one member p50 (edge; vs the slowest member, \`${slowestSingle.name}\`) | ${fmt(ensOne, 2)}× | ≤ 1.5× | ${ok(ensOne <= 1.5)} |
| ensemble / fastest member p50 (edge; \`${fastestSingle.name}\`) | ${fmt(ensFastest, 2)}× | — | |
| Worker bundle, gzip (${r.bundle.files.join(', ')}) | ${mb(r.bundle.gzip)} (raw ${mb(r.bundle.raw)}) | ≤ 10 MB | ${ok(r.bundle.gzip <= 10 * 1024 * 1024)} |

- First answer of a fresh isolate (cold: ORT wasm instantiation, four models fetched from S3,
  sha256-verified, sessions created): **${fmt(r.coldMs, 0)} ms**; the next request: ${fmt(r.warmMs, 1)} ms.
- Fusion overhead (native, in-process): one whole spam prediction (MIME parse, four featurizers,
  four sessions, fusion) takes ${fmt(r.split.total, 2)} ms; the stacking fusion step alone takes
  ${fmt(r.split.fusion * 1000, 2)} µs, i.e. ${fmt((100 * r.split.fusion) / r.split.total, 3)} % of it.

### What bounds the ratios

- The edge/native target is measured against \`wrangler dev\`, whose request path (a proxy Worker
  in front of the user Worker, plus the dev inspector) costs ${fmt(base.edge.p50, 1)} ms p50 on
  \`/healthz\` at this concurrency against ${fmt(base.native.p50, 1)} ms for Node — before any
  inference. With that baseline subtracted the ratio is ${fmt(computeRatio, 2)}×: the remainder is
  wasm vs native kernels (single-threaded SIMD wasm, int8 weights dequantized per run at the
  \`basic\` optimisation level both sides use) and the same JavaScript featurizers in both. On
  Cloudflare's edge there is no dev proxy; this local setup cannot measure that path.
- Members run concurrently but on one thread per isolate (Workers have no wasm threads), so an
  ensemble's latency is close to the *sum* of its members' compute, not the max; the ensemble/one
  member ratio therefore depends on which member is compared. Featurization (MIME parsing,
  character n-gram hashing) is shared per request and dominates the cheap members.
- Edge vs native compares wasm SIMD kernels and workerd's HTTP stack with native kernels and
  Node's HTTP stack; both share the same featurization code (JavaScript in both).
`;
  await writeFile('BENCHMARKS.md', md);
  log('wrote BENCHMARKS.md');
}

await main();
