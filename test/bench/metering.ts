/**
 * Auth + metering cost on the predict path, side by side in one run: the same spam predict with
 * the bootstrap admin token (a SHA-256 compare, no Durable Object) and with a metered API key
 * (its Durable Object admits, rate-limits and holds the units before the work; the ledger row is
 * settled after the answer). Rounds alternate so machine drift hits both paths alike; measured at
 * concurrency 1 (what metering adds to a request) and at the bench's concurrency.
 */

import { createApiKey } from '../../infra/keys';
import type { Stack } from '../../infra/local-stack';
import { type LatencyStats, measure } from './load';

const fmt = (v: number, d = 1) => v.toFixed(d);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const signed = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v, 2)}`;

interface Pair {
  concurrency: number;
  plain: LatencyStats[];
  metered: LatencyStats[];
}

export async function meteringSection(
  stack: Pick<Stack, 'edgeUrl' | 'adminToken'>,
  body: string,
  options: { requests: number; concurrency: number; warmup: number },
  log: (...a: unknown[]) => void,
  rounds = 3,
): Promise<string> {
  const key = await createApiKey(stack.edgeUrl, stack.adminToken, {
    name: 'bench',
    scopes: ['predict'],
    ensembles: ['spam'],
    rate_limit: { requests: 1_000_000, window_seconds: 60 },
    budget_units: 1e11,
  });
  const url = `${stack.edgeUrl}/v1/ensembles/spam/predict`;
  const pairs: Pair[] = [];
  for (const concurrency of [...new Set([1, options.concurrency])]) {
    const pair: Pair = { concurrency, plain: [], metered: [] };
    for (let r = 0; r < rounds; r++) {
      const o = { ...options, concurrency };
      pair.plain.push(await measure(url, body, { ...o, headers: { authorization: `Bearer ${stack.adminToken}` } }));
      pair.metered.push(await measure(url, body, { ...o, headers: { authorization: `Bearer ${key}` } }));
    }
    pairs.push(pair);
  }
  const p50 = (xs: LatencyStats[]) => median(xs.map((x) => x.p50));
  const p99 = (xs: LatencyStats[]) => median(xs.map((x) => x.p99));
  const rps = (xs: LatencyStats[]) => median(xs.map((x) => x.rps));
  const rows = pairs.flatMap((p) => [
    `| ${p.concurrency} | without (bootstrap token) | ${fmt(p50(p.plain))} | ${fmt(p99(p.plain))} | ${fmt(rps(p.plain), 0)} |`,
    `| ${p.concurrency} | with an API key + metering | ${fmt(p50(p.metered))} | ${fmt(p99(p.metered))} | ${fmt(rps(p.metered), 0)} |`,
  ]);
  const overhead = (p: Pair) => p50(p.metered) - p50(p.plain);
  for (const p of pairs) log(`metering at concurrency ${p.concurrency}: p50 ${signed(overhead(p))} ms`);
  const [one, many] = [pairs[0] as Pair, pairs[pairs.length - 1] as Pair];
  return `
## Auth and metering on the predict path

The spam predict of the table above, ${options.requests} requests per round, ${rounds} alternating rounds
(median of the rounds' p50/p99). *Without*: the bootstrap admin token (hashed and compared; no
Durable Object, nothing charged). *With*: a metered API key — its Durable Object (SQLite)
authenticates the key by hash, checks scope and ensemble, takes a rate-limit token and holds
Σ cost units × inputs against the budget before the engine runs: one Durable Object call on the
request path (\`admit\` with a hold), writing no storage. The ledger row with the units
actually used is settled after the answer is sent and written with the others of the same
second in one commit (a storage commit holds the object's later answers until it is durable).

| concurrency | predict | p50 ms | p99 ms | req/s |
|---:|---|---:|---:|---:|
${rows.join('\n')}

| ratio | value | target | |
|---|---:|---:|---|
| metering overhead, p50, one request at a time | ${signed(overhead(one))} ms | ≤ 2 ms | ${overhead(one) <= 2 ? 'met' : '**missed**'} |
| metering overhead, p50, concurrency ${many.concurrency} | ${signed(overhead(many))} ms | — | |

Under \`wrangler dev\` the Durable Objects run in the same workerd process as the Worker, on the
same cores, so at concurrency above one a meter call queues behind other requests' inference
(CPU-bound, on a small shared machine); the concurrency-1 row is what metering itself adds. On
Cloudflare a Durable Object runs in its own isolate, wherever the object lives.
`;
}
