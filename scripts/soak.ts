/**
 * `npm run soak`: SOAK_REQUESTS (50,000) predicts with the spam zoo against one workerd isolate
 * (the Worker through Miniflare, no dev proxy), SOAK_CONCURRENCY (2) at a time, recording the
 * workerd process's RSS from /proc every SOAK_SAMPLE (1,000) requests and every non-2xx answer.
 * Writes .cache/soak.json and prints the memory growth between 5k and the end; exits 1 when
 * growth exceeds 10 % or any request answered 5xx.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { startMiniflareEdge } from '../test/bench/miniflare-edge';
import { seedSpam } from '../test/bench/seed';
import { freePort } from '../test/e2e/ports';

const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 50_000);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 2);
const SAMPLE = Number(process.env.SOAK_SAMPLE ?? 1000);
/** `healthz` soaks the HTTP path alone (no inference): a baseline for what the runtime adds */
const ROUTE = process.env.SOAK_ROUTE === 'healthz' ? 'healthz' : 'predict';
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
  growth5kToEnd: number;
}

async function main(): Promise<SoakResult> {
  const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];
  const bodies = reference.map((r) => JSON.stringify({ inputs: [{ message: r.message }] }));
  const edge = await startMiniflareEdge({ root, port: await freePort(), vars: { ADMIN_TOKEN: ADMIN } });
  try {
    await seedSpam(edge, root, ADMIN);
    log(`workerd pid ${edge.workerdPid} on ${edge.url}; ${REQUESTS} predicts at c=${CONCURRENCY}`);
    const statuses: Record<string, number> = {};
    const rss: [number, number][] = [[0, edge.workerdRss()]];
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
            if (done % (SAMPLE * 5) === 0) log(`${done}: workerd RSS ${(edge.workerdRss() / 2 ** 20).toFixed(1)} MiB`);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const at = (n: number) => rss.find(([k]) => k >= n)?.[1] ?? Number.NaN;
    const end = rss[rss.length - 1]?.[1] ?? Number.NaN;
    const growth5kToEnd = end / at(Math.min(5000, REQUESTS)) - 1;
    return { requests: done, concurrency: CONCURRENCY, seconds, statuses, rss, growth5kToEnd };
  } finally {
    await edge.stop();
  }
}

const result = await main();
await mkdir('.cache', { recursive: true });
await writeFile('.cache/soak.json', `${JSON.stringify(result, null, 1)}\n`);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const at5k = result.rss.find(([k]) => k >= Math.min(5000, result.requests))?.[1] ?? 0;
const errors = Object.entries(result.statuses)
  .filter(([s]) => s === 'timeout' || Number(s) >= 500)
  .reduce((n, [, c]) => n + c, 0);
log(
  `${result.requests} predicts in ${result.seconds.toFixed(0)} s (${(result.requests / result.seconds).toFixed(0)}/s); statuses ${JSON.stringify(result.statuses)}`,
);
log(
  `workerd RSS: start ${mib(result.rss[0]?.[1] ?? 0)} MiB, 5k ${mib(at5k)} MiB, end ${mib(result.rss.at(-1)?.[1] ?? 0)} MiB, growth 5k→end ${(100 * result.growth5kToEnd).toFixed(1)} %`,
);
process.exitCode = result.growth5kToEnd > 0.1 || errors > 0 ? 1 : 0;
