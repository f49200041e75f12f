/**
 * `npm run bench`: measures side by side in one run and writes BENCHMARKS.md.
 * Edge = the Worker under wrangler dev (workerd, onnxruntime-web wasm, models from local S3);
 * native = the same engine in a plain Node server over onnxruntime-node. Ratios matter more
 * than absolute numbers: the machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Stack } from '../../infra/local-stack';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { freePort, startTestStack } from '../e2e/ports';
import { batchSection } from './batch';
import { edgeNativeSection } from './edge-native';
import { hostileSection } from './featurize';
import { jobsSection } from './jobs';
import { type LatencyStats, measure } from './load';
import { meteringSection } from './metering';
import { startNativeServer } from './native-server';
import { writeReport } from './report';
import { transformerSection } from './transformer';

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

/**
 * A second local stack whose state lies in memory (`/dev/shm`), for the metering comparison;
 * `run` gets undefined where the machine has no tmpfs there.
 */
async function withMemoryStack<T>(run: (stack: Stack | undefined) => Promise<T>): Promise<T> {
  if (!existsSync('/dev/shm')) return run(undefined);
  const stack = await startTestStack('bench', { baseDir: '/dev/shm', log });
  try {
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

async function main() {
  const stack = await startTestStack('bench', { log });
  const native = startNativeServer(stack.store, {}, await freePort());
  // every edge predict needs a credential: the bootstrap admin token adds no Durable Object call
  const auth = { authorization: `Bearer ${stack.adminToken}` };
  try {
    // Cold: the first predict of a fresh isolate loads the wasm, fetches and verifies every member's model.
    let t = performance.now();
    const first = await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body,
    });
    await first.arrayBuffer();
    const coldMs = performance.now() - t;
    t = performance.now();
    await (
      await fetch(`${stack.edgeUrl}/v1/ensembles/spam/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
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
      const edge = await measure(`${stack.edgeUrl}/v1/ensembles/${e.name}/predict`, body, { ...opts, headers: auth });
      const nat = await measure(`${nativeServer.url}/v1/ensembles/${e.name}/predict`, body, opts);
      rows.push({ name: e.name, edge, native: nat });
      log(`${e.name}: edge p50 ${fmt(edge.p50)} p99 ${fmt(edge.p99)} | native p50 ${fmt(nat.p50)} p99 ${fmt(nat.p99)}`);
    }
    rows.push(baseline);
    await nativeServer.close();

    const split = await fusionOverhead(new SessionCache(createNodeBackend(), stack.store, 256 << 20));
    const bundle = await bundleGzipBytes();
    const metering = await withMemoryStack((memory) =>
      meteringSection(
        [{ storage: 'on disk', stack }, ...(memory ? [{ storage: 'in memory (tmpfs)', stack: memory }] : [])],
        body,
        opts,
        log,
      ),
    );
    const batch = await batchSection(stack, manifest, log);
    const jobs = process.env.BENCH_SKIP_JOBS ? '' : await jobsSection(stack, manifest, log);
    const hostile = await hostileSection();
    // workerd through Miniflare (no dev proxy) vs native in its own process, autocannon load;
    // the wrangler dev stack above gives the reference row
    const edgeNative = await edgeNativeSection({
      root,
      manifest,
      messages: reference.map((r) => r.message),
      wranglerDev: { url: stack.edgeUrl, headers: auth },
      log,
    });
    const transformer = process.env.BENCH_SKIP_TRANSFORMER ? '' : await transformerSection({ root, log });
    await writeReport({
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      rows,
      coldMs,
      warmMs,
      split,
      bundle,
      jobs: edgeNative + transformer + metering + batch + hostile + jobs,
    });
    log('wrote BENCHMARKS.md');
  } finally {
    await stack.stop();
  }
}

await main();
