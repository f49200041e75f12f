/** A bounded closed-loop load generator: `concurrency` clients, `requests` in total, loopback only. */
export interface LatencyStats {
  requests: number;
  concurrency: number;
  p50: number;
  p99: number;
  mean: number;
  rps: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] as number;
}

/** Latency stats of `times` (ms, any order) measured over `elapsedMs` at `concurrency`. */
export function latencyStats(times: readonly number[], concurrency: number, elapsedMs: number): LatencyStats {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    concurrency,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    rps: (sorted.length / elapsedMs) * 1000,
  };
}

/** POSTs `body` as JSON, or GETs when body is undefined; `headers` (e.g. a credential) go with every request. */
export async function measure(
  url: string,
  body: string | undefined,
  options: { requests: number; concurrency: number; warmup: number; headers?: Record<string, string> },
): Promise<LatencyStats> {
  const headers = options.headers ?? {};
  const init: RequestInit =
    body === undefined
      ? { headers }
      : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body };
  const send = async () => {
    const t = performance.now();
    const res = await fetch(url, init);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < options.warmup; i++) await send();
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.requests) {
        next++;
        times.push(await send());
      }
    }),
  );
  return latencyStats(times, options.concurrency, performance.now() - started);
}
