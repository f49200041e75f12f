/**
 * Auth + metering cost on the predict path, side by side in one run: the same spam predict with
 * the bootstrap admin token (a SHA-256 compare, no Durable Object) and with a metered API key
 * (its Durable Object admits, rate-limits and charges the hold before the work; the refund
 * rides on the key's next call). At concurrency 1 the two alternate request by request (ABBA),
 * so drift on a shared machine hits both alike and each metered request has a plain neighbour to
 * be compared with; at the bench's concurrency, rounds alternate.
 */

import { createApiKey } from '../../infra/keys';
import type { Stack } from '../../infra/local-stack';
import { type LatencyStats, latencyStats, measure } from './load';

const fmt = (v: number, d = 1) => v.toFixed(d);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const signed = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v, 2)}`;

interface Pair {
  concurrency: number;
  plain: LatencyStats[];
  metered: LatencyStats[];
}

/** One request's wall time in ms (throws on a non-2xx answer). */
async function timed(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return performance.now() - t;
}

/**
 * Concurrency 1, plain and metered interleaved A B B A …: answers both sides' stats and the
 * median of each metered request's difference to the plain one beside it.
 */
async function interleaved(
  url: string,
  body: string,
  headers: { plain: Record<string, string>; metered: Record<string, string> },
  pairs: number,
): Promise<{ plain: LatencyStats; metered: LatencyStats; pairedMs: number }> {
  const plain: number[] = [];
  const metered: number[] = [];
  const diffs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) {
    const plainFirst = i % 2 === 0;
    const a = await timed(url, body, plainFirst ? headers.plain : headers.metered);
    const b = await timed(url, body, plainFirst ? headers.metered : headers.plain);
    const [p, m] = plainFirst ? [a, b] : [b, a];
    plain.push(p);
    metered.push(m);
    diffs.push(m - p);
  }
  const elapsed = (performance.now() - t0) / 2;
  return {
    plain: latencyStats(plain, 1, elapsed),
    metered: latencyStats(metered, 1, elapsed),
    pairedMs: median(diffs),
  };
}

/** A local stack to measure, named by where its state (Durable Objects' SQLite, R2) lives. */
export interface MeteredStack {
  storage: string;
  stack: Pick<Stack, 'edgeUrl' | 'adminToken'>;
}

interface Measured {
  storage: string;
  pairs: Pair[];
  pairedMs: number;
}

async function measureStack(
  { storage, stack }: MeteredStack,
  body: string,
  options: { requests: number; concurrency: number; warmup: number },
  rounds: number,
  log: (...a: unknown[]) => void,
): Promise<Measured> {
  const key = await createApiKey(stack.edgeUrl, stack.adminToken, {
    name: 'bench',
    scopes: ['predict'],
    ensembles: ['spam'],
    rate_limit: { requests: 1_000_000, window_seconds: 60 },
    budget_units: 1e11,
  });
  const url = `${stack.edgeUrl}/v1/ensembles/spam/predict`;
  const headers = {
    plain: { authorization: `Bearer ${stack.adminToken}` },
    metered: { authorization: `Bearer ${key}` },
  };
  for (let i = 0; i < options.warmup; i++) await interleaved(url, body, headers, 1);
  const one = await interleaved(url, body, headers, options.requests * rounds);
  const pairs: Pair[] = [{ concurrency: 1, plain: [one.plain], metered: [one.metered] }];
  if (options.concurrency > 1) {
    const pair: Pair = { concurrency: options.concurrency, plain: [], metered: [] };
    for (let r = 0; r < rounds; r++) {
      pair.plain.push(await measure(url, body, { ...options, headers: headers.plain }));
      pair.metered.push(await measure(url, body, { ...options, headers: headers.metered }));
    }
    pairs.push(pair);
  }
  for (const p of pairs) log(`metering (${storage}) at concurrency ${p.concurrency}: p50 ${signed(overhead(p))} ms`);
  log(`metering (${storage}) at concurrency 1: median paired difference ${signed(one.pairedMs)} ms`);
  return { storage, pairs, pairedMs: one.pairedMs };
}

const p50 = (xs: LatencyStats[]) => median(xs.map((x) => x.p50));
const p99 = (xs: LatencyStats[]) => median(xs.map((x) => x.p99));
const rps = (xs: LatencyStats[]) => median(xs.map((x) => x.rps));
const overhead = (p: Pair) => p50(p.metered) - p50(p.plain);

/**
 * The section, measured on each stack in turn (the first is the bench's own stack: its state on
 * disk like `npm start`'s; another may keep its state in memory), concurrency 1 on each and the
 * bench's concurrency on the first.
 */
export async function meteringSection(
  stacks: readonly MeteredStack[],
  body: string,
  options: { requests: number; concurrency: number; warmup: number },
  log: (...a: unknown[]) => void,
  rounds = 3,
): Promise<string> {
  const measured: Measured[] = [];
  for (const [i, s] of stacks.entries()) {
    measured.push(await measureStack(s, body, i === 0 ? options : { ...options, concurrency: 1 }, rounds, log));
  }
  const rows = measured.flatMap((m) =>
    m.pairs.flatMap((p) => [
      `| ${m.storage} | ${p.concurrency} | without (bootstrap token) | ${fmt(p50(p.plain))} | ${fmt(p99(p.plain))} | ${fmt(rps(p.plain), 0)} |`,
      `| ${m.storage} | ${p.concurrency} | with an API key + metering | ${fmt(p50(p.metered))} | ${fmt(p99(p.metered))} | ${fmt(rps(p.metered), 0)} |`,
    ]),
  );
  const ratios = measured.flatMap((m) => {
    const first = m.pairs[0] as Pair;
    const many = m.pairs.slice(1);
    return [
      `| metering overhead, p50, one request at a time — state ${m.storage} | ${signed(overhead(first))} ms | ≤ 2 ms | ${overhead(first) <= 2 ? 'met' : '**missed**'} |`,
      `| median of each metered request's difference to its plain neighbour, c=1 — state ${m.storage} | ${signed(m.pairedMs)} ms | — | |`,
      ...many.map(
        (p) =>
          `| metering overhead, p50, concurrency ${p.concurrency} — state ${m.storage} | ${signed(overhead(p))} ms | — | |`,
      ),
    ];
  });
  const pairsRun = options.requests * rounds;
  return `
## Auth and metering on the predict path

The spam predict of the table above. *Without*: the bootstrap admin token (hashed and compared;
no Durable Object, nothing charged). *With*: a metered API key — its Durable Object (SQLite)
authenticates the key by hash, checks scope and ensemble, takes a rate-limit token and holds
Σ cost units × inputs against the budget before the engine runs: one Durable Object call on the
request path (\`admit\` with a hold), which writes the hold as a ledger row charging all of it
(SQLite, committed before the answer leaves the object). The refund of what the request did not
use is owed to the meter and rides on the key's next call from the same isolate (the next
admission or usage read; \`functions/edge/metering/owed.ts\`), or goes on its own a second later
when the key is quiet; the meter writes it as a second row, once per hold.
Concurrency 1: ${pairsRun} pairs, plain and metered alternating request by request (A B B A …);
concurrency ${options.concurrency}: ${rounds} alternating rounds of ${options.requests} (median of the rounds' p50/p99).
Measured on two local stacks, one after the other: the bench's own, whose state (the Durable
Objects' SQLite files, R2) lies on this machine's disk as \`npm start\`'s does, and one whose state
lies in memory (tmpfs, \`/dev/shm\`). The hold's commit waits for SQLite's write to reach the
state's file system (the Durable Object's output gate), so the difference between the two rows is
what this machine's disk adds to each metered request; on Cloudflare the commit goes to the
object's replicated storage instead, neither of these.

| state | concurrency | predict | p50 ms | p99 ms | req/s |
|---|---:|---|---:|---:|---:|
${rows.join('\n')}

| ratio | value | target | |
|---|---:|---:|---|
${ratios.join('\n')}

Where the time goes (measured during development by ablation, interleaved as above, 3 rounds of
600 pairs on one stack each): the meter answering without touching SQLite added +1.03 ms (tmpfs)
— the Durable Object round trip through workerd; no meter call at all, with the rest of the
metered path (hashing the key, the hold's size, the settlement timer) kept, added nothing
(−0.1 ms). So the hold's SQL and commit cost ≈ 0.3 ms in memory and ≈ 0.8 ms on this machine's
disk, where a raw 16 KiB write + fsync takes 0.09 ms (p50): the rest is SQLite's write-ahead log
growing the file. On disk the whole path measured +1.7 to +2.1 ms round by round in those runs,
so the ≤ 2 ms target sits at this machine's floor rather than clearly above or below it.
The path used to make two calls per metered predict (admit, then settle after the answer) and
measured +10.4 ms paired / +12.7 ms p50 under load in this interleaved comparison; folding the
settlement into the next call halved that. The one call left is the price of exact metering:
admission, revocation and the budget are decided by the key's object on every request (a
per-isolate cache of admissions would let a revoked key or a spent budget through until it
expired). Running the call beside the inference did not help locally (measured: no gain): the
object runs in the same workerd thread, so it only answers when the request's JavaScript yields.
A hold kept in memory and written a second later measured ≈ 0.8 ms less on disk, but a meter
restart in between would serve that request unbilled, so the hold is committed first.
`;
}
