/**
 * The soak's part of BENCHMARKS.md, from the files `npm run soak` leaves: .cache/soak.json (the
 * workerd process's RSS, the target's figure) and, when run with SOAK_HEAP=1,
 * .cache/soak-heap.json (the Worker isolate's own V8 heap after a full collection).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface SoakFile {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  rss: [number, number][];
  heap?: [number, number][];
  growth5kToEnd: number;
  heapGrowth5kToEnd?: number;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const pct = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} %`;
/** the series at 0, 5k, 10k, … (every 5,000 requests) */
const every5k = (series: readonly [number, number][]) =>
  series
    .filter(([n]) => n % 5000 === 0)
    .map(([, b]) => mib(b))
    .join(' → ');

async function load(root: string, file: string): Promise<SoakFile | undefined> {
  return readFile(join(root, '.cache', file), 'utf8')
    .then((s) => JSON.parse(s) as SoakFile)
    .catch(() => undefined);
}

export async function soakSection(root: string): Promise<string> {
  const rss = await load(root, 'soak.json');
  const heap = await load(root, 'soak-heap.json');
  if (!rss && !heap) return '';
  const rows: string[] = [];
  if (rss) {
    rows.push(
      `| \`npm run soak\`: workerd process RSS, MiB | ${rss.requests} | ${every5k(rss.rss)} | ${pct(rss.growth5kToEnd)} | ${JSON.stringify(rss.statuses)} | ${rss.growth5kToEnd <= 0.1 ? 'met' : '**missed**'} |`,
    );
  }
  if (heap?.heap && heap.heapGrowth5kToEnd !== undefined) {
    rows.push(
      `| \`SOAK_HEAP=1 npm run soak\`: the Worker isolate's V8 heap after a full collection, MiB | ${heap.requests} | ${every5k(heap.heap)} | ${pct(heap.heapGrowth5kToEnd)} | ${JSON.stringify(heap.statuses)} | ${heap.heapGrowth5kToEnd <= 0.1 ? 'flat' : '**grows**'} |`,
    );
  }
  return `
### Soak: one isolate, 50,000 spam predicts at c=2

Requests go on Miniflare's direct socket to the Worker (scripts/soak.ts); samples every 1,000
requests, shown every 5,000 (0 = before the first). The target (≤ +10 % from 5k to the end, no
5xx) is judged on the workerd process's RSS, the only figure of the process as a whole; the
isolate's own heap is read through workerd's V8 inspector after a heap snapshot (which collects
first), in a separate run because snapshots cost workerd memory of their own.

| measure | requests | at 0, 5k, 10k, … | 5k → end | statuses | |
|---|---:|---|---:|---|---|
${rows.join('\n')}

The isolate holds the same live heap from 5k on, so the process's growth is not the Worker's
JavaScript. It is not inference either: the same process answering only \`GET /healthz\` (no
model, no parsing) grew more over the same count (240 → 328 MiB, +36.6 %, measured 2026-11-23
with the same script, \`SOAK_ROUTE=healthz\`), and before the bench called the Worker's own socket
Miniflare's entry worker in front of it added to it (a trivial Worker: 151 → 207 MiB over 5k–10k
through the entry worker, 110 → 130 MiB on the direct socket). The wasm memory is not in either
figure; it stays at its high-water mark (27.8 MiB in Node over 34k requests).

**The abort this soak used to end in** (every member \`Aborted()\` after 20–35k requests, then 503
for good) was not a leak: the engine ran members concurrently, and onnxruntime-web's \`run\` keeps
its argument arrays on the wasm stack across awaits, so overlapping runs gave the stack back out
of order until it overran the heap (reproduced in Node with the same lib code: concurrent runs
abort at 27–36k iterations with wasm memory flat; serial runs go 40,000 clean). Every call into
onnxruntime-web is now entered one at a time per wasm instance (lib/backends/onnx-web.ts;
test/unit/web-backend-serial.test.ts sees at most one call inside while the engine predicts the
zoo concurrently, and fails with four when the queue is removed). **Recovery**: a run that throws
a wasm abort or trap empties the session cache, so the next request re-creates its sessions
(test/unit/fold-quantization.test.ts; in workerd test/workers/runtime-abort.test.ts).
`;
}
