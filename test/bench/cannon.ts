/**
 * autocannon in a process of its own, reporting latency from every response's own duration
 * (autocannon's histogram keeps whole milliseconds, too coarse for a 2 ms request at c=1).
 * Argument: a JSON object {url, connections, amount, method?, body?, headers?}; prints one JSON
 * line {p50, p99, mean, rps, non2xx} (milliseconds, requests per second).
 */
import { createRequire } from 'node:module';
import { latencyStats } from './load';

interface Options {
  url: string;
  connections: number;
  amount: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
}
interface Tracker {
  on(event: 'response', f: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'done', f: (result: { errors: number }) => void): void;
}
type Run = (opts: Record<string, unknown>) => Tracker;

const run = createRequire(import.meta.url)('autocannon') as Run;
const options = JSON.parse(process.argv[2] ?? '{}') as Options;

const durations: number[] = [];
let non2xx = 0;
// from the first request's start to the last response (autocannon ends on whole-second ticks)
let firstStart = Number.NaN;
let lastEnd = Number.NaN;
const tracker = run({
  url: options.url,
  connections: options.connections,
  amount: options.amount,
  method: options.method ?? 'GET',
  ...(options.body === undefined ? {} : { body: options.body }),
  headers: options.headers ?? {},
});
tracker.on('response', (_client, status, _bytes, ms) => {
  const now = performance.now();
  if (durations.length === 0) firstStart = now - ms;
  lastEnd = now;
  durations.push(ms);
  if (status < 200 || status > 299) non2xx++;
});
tracker.on('done', (result) => {
  const { p50, p99, mean, rps } = latencyStats(durations, options.connections, lastEnd - firstStart);
  console.log(JSON.stringify({ p50, p99, mean, rps, non2xx: non2xx + result.errors }));
});
