/**
 * Auth + metering cost on the predict path, side by side in one run: the same spam predict with
 * the bootstrap admin token (a SHA-256 compare, no Durable Object) and with a metered API key
 * (its Durable Object admits, rate-limits and charges before the work, and would refund after).
 * Rounds alternate so machine drift hits both paths alike.
 */

import { createApiKey } from '../../infra/keys';
import type { Stack } from '../../infra/local-stack';
import { type LatencyStats, measure } from './load';

const fmt = (v: number, d = 1) => v.toFixed(d);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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
  const plain: LatencyStats[] = [];
  const metered: LatencyStats[] = [];
  for (let r = 0; r < rounds; r++) {
    plain.push(await measure(url, body, { ...options, headers: { authorization: `Bearer ${stack.adminToken}` } }));
    metered.push(await measure(url, body, { ...options, headers: { authorization: `Bearer ${key}` } }));
  }
  const p50 = (xs: LatencyStats[]) => median(xs.map((x) => x.p50));
  const p99 = (xs: LatencyStats[]) => median(xs.map((x) => x.p99));
  const rps = (xs: LatencyStats[]) => median(xs.map((x) => x.rps));
  const overhead = p50(metered) - p50(plain);
  log(`predict p50 without metering ${fmt(p50(plain))} ms, with an API key + metering ${fmt(p50(metered))} ms`);
  return `
## Auth and metering on the predict path

The spam predict of the table above, ${options.requests} requests at concurrency ${options.concurrency} per round,
${rounds} alternating rounds (median of the rounds' p50/p99). *Without*: the bootstrap admin token
(hashed and compared; no Durable Object, nothing charged). *With*: a metered API key — the key's
Durable Object (SQLite) authenticates it by hash, checks scope and ensemble, takes a token from its
bucket and charges Σ cost units before the engine runs (two Durable Object calls per request;
a refund is a third only when a cascade stops early).

| predict | p50 ms | p99 ms | req/s |
|---|---:|---:|---:|
| without auth + metering (bootstrap token) | ${fmt(p50(plain))} | ${fmt(p99(plain))} | ${fmt(rps(plain), 0)} |
| with an API key + metering | ${fmt(p50(metered))} | ${fmt(p99(metered))} | ${fmt(rps(metered), 0)} |

| ratio | value | target | |
|---|---:|---:|---|
| metering overhead, p50 | ${overhead >= 0 ? '+' : ''}${fmt(overhead, 2)} ms | ≤ 2 ms | ${overhead <= 2 ? 'met' : '**missed**'} |
`;
}
