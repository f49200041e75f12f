/**
 * `npm run soak`: SOAK_REQUESTS (50,000) predicts with the spam zoo against one workerd isolate
 * (the Worker through Miniflare, no dev proxy), SOAK_CONCURRENCY (2) at a time, recording the
 * workerd process's RSS from /proc every SOAK_SAMPLE (1,000) requests and every non-2xx answer.
 * Writes .cache/soak.json and prints the memory growth between 5k and the end; exits 1 when
 * growth exceeds 10 % or any request answered 5xx. With SOAK_HEAP=1 it reads the isolate's own
 * V8 heap through the inspector instead (.cache/soak-heap.json; the gate is then that heap's growth).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { inspectIsolate } from '../test/bench/inspector';
import { startMiniflareEdge } from '../test/bench/miniflare-edge';
import { seedSpam } from '../test/bench/seed';
import { freePort } from '../test/e2e/ports';

const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 50_000);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 2);
const SAMPLE = Number(process.env.SOAK_SAMPLE ?? 1000);
/** `healthz` soaks the HTTP path alone (no inference): a baseline for what the runtime adds */
const ROUTE = process.env.SOAK_ROUTE === 'healthz' ? 'healthz' : 'predict';
/**
 * SOAK_HEAP=1 also reads the isolate's V8 heap every 5 × SAMPLE requests, after a full collection
 * (a heap snapshot through the inspector). Each snapshot costs workerd memory of its own, so the
 * RSS figure of such a run is not the one the target is judged on: run the two apart.
 */
const HEAP = process.env.SOAK_HEAP === '1';
const ADMIN = 'soak-admin-token';
const root = process.cwd();
const log = (...a: unknown[]) => console.error('[soak]', ...a);

export interface SoakResult {
  requests: number;
  concurrency: number;
  seconds: number;
  statuses: Record<string, number>;
  /** [requests done, workerd RSS bytes] */
  rss: [number, number][];
  /** [requests done, the Worker isolate's V8 heap after a full collection, bytes], every 5 × SAMPLE */
  heap: [number, number][];
  /** [requests done, ArrayBuffer backing stores the isolate holds (not its wasm memory), bytes] */
  backing: [number, number][];
  growth5kToEnd: number;
  heapGrowth5kToEnd: number;
}

/** A series' value at 5,000 requests (or at the end of a shorter run). */
const at5k = (series: readonly [number, number][], requests: number): number =>
  series.find(([k]) => k >= Math.min(5000, requests))?.[1] ?? Number.NaN;

async function main(): Promise<SoakResult> {
  const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];
  const bodies = reference.map((r) => JSON.stringify({ inputs: [{ message: r.message }] }));
  const inspectorPort = HEAP ? await freePort() : undefined;
  const edge = await startMiniflareEdge({
    root,
    port: await freePort(),
    vars: { ADMIN_TOKEN: ADMIN },
    ...(inspectorPort === undefined ? {} : { inspectorPort }),
  });
  const isolate = inspectorPort === undefined ? undefined : await inspectIsolate(inspectorPort, 'chorus-edge');
  try {
    await seedSpam(edge, root, ADMIN);
    log(`workerd pid ${edge.workerdPid} on ${edge.url}; ${REQUESTS} predicts at c=${CONCURRENCY}`);
    const statuses: Record<string, number> = {};
    const rss: [number, number][] = [[0, edge.workerdRss()]];
    const heap: [number, number][] = [];
    const backing: [number, number][] = [];
    const record = (at: number, live: { heap: number; backing: number }) => {
      heap.push([at, live.heap]);
      backing.push([at, live.backing]);
    };
    if (isolate) record(0, await isolate.liveHeapBytes());
    const samples: Promise<void>[] = [];
    let next = 0;
    let done = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          // a request the isolate never answers counts as `timeout` (after an abort some hang)
          const signal = AbortSignal.timeout(30_000);
          const status = await (ROUTE === 'healthz'
            ? fetch(`${edge.url}/healthz`, { signal })
            : fetch(`${edge.url}/v1/ensembles/spam/predict`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
                body: bodies[i % bodies.length] as string,
                signal,
              })
          ).then(
            async (res) => {
              await res.arrayBuffer();
              return String(res.status);
            },
            () => 'timeout',
          );
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== '200' && (statuses[status] ?? 0) <= 3) log(`request ${i}: ${status}`);
          done++;
          if (done % SAMPLE === 0) {
            rss.push([done, edge.workerdRss()]);
            const at = done;
            if (isolate && done % (SAMPLE * 5) === 0) {
              samples.push(isolate.liveHeapBytes().then((live) => record(at, live)));
            }
            if (done % (SAMPLE * 5) === 0) log(`${done}: workerd RSS ${(edge.workerdRss() / 2 ** 20).toFixed(1)} MiB`);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(samples);
    heap.sort((a, b) => a[0] - b[0]);
    backing.sort((a, b) => a[0] - b[0]);
    const growth = (series: [number, number][]) =>
      (series[series.length - 1]?.[1] ?? Number.NaN) / at5k(series, REQUESTS) - 1;
    return {
      requests: done,
      concurrency: CONCURRENCY,
      seconds,
      statuses,
      rss,
      heap,
      backing,
      growth5kToEnd: growth(rss),
      heapGrowth5kToEnd: growth(heap),
    };
  } finally {
    isolate?.close();
    await edge.stop();
  }
}

const result = await main();
await mkdir('.cache', { recursive: true });
await writeFile(HEAP ? '.cache/soak-heap.json' : '.cache/soak.json', `${JSON.stringify(result, null, 1)}\n`);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const perSample = (series: readonly [number, number][]) => series.map(([n, b]) => `${n / 1000}k ${mib(b)}`).join(', ');
const errors = Object.entries(result.statuses)
  .filter(([s]) => s === 'timeout' || Number(s) >= 500)
  .reduce((n, [, c]) => n + c, 0);
log(
  `${result.requests} predicts in ${result.seconds.toFixed(0)} s (${(result.requests / result.seconds).toFixed(0)}/s); statuses ${JSON.stringify(result.statuses)}`,
);
log(
  `workerd RSS: start ${mib(result.rss[0]?.[1] ?? 0)} MiB, 5k ${mib(at5k(result.rss, result.requests))} MiB, end ${mib(result.rss.at(-1)?.[1] ?? 0)} MiB, growth 5k→end ${(100 * result.growth5kToEnd).toFixed(1)} %`,
);
if (result.heap.length > 0)
  log(
    `isolate V8 heap after a full collection: ${perSample(result.heap)} MiB; growth 5k→end ${(100 * result.heapGrowth5kToEnd).toFixed(1)} %; ArrayBuffer backing stores (the wasm memory is not counted there) ${perSample(result.backing)} MiB`,
  );
process.exitCode = (HEAP ? result.heapGrowth5kToEnd : result.growth5kToEnd) > 0.1 || errors > 0 ? 1 : 0;
