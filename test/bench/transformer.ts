/**
 * The transformer member (models/transformer, served int8 as models/spam/body-bert.int8.onnx with
 * its tokenizer.json): its p50 at the edge (workerd through Miniflare) vs native (onnxruntime-node
 * behind a plain Node server), the spam ensemble without and with it, the cascade's saving when the
 * cheap members are already confident (native, in-process, over test-split messages), and the
 * Worker bundle with the tokenizer library. Alone: `node --import tsx test/bench/transformer.ts`
 * (Node ≥ 22, as the rest of the bench), which prints the section.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import type { EnsembleManifest, MemberSpec } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex, tokenizerKey } from '../../lib/store';
import { loadCorpus } from '../../models/corpus';
import { transformerMemberSpec } from '../../models/steps/transformer';
import { freePort } from '../e2e/ports';
import { startReadyProcess } from './child';
import { autocannon, type Cannon } from './edge-native';
import { buildWorker, startMiniflareEdge } from './miniflare-edge';
import { seedSpam } from './seed';

const ADMIN = 'bench-admin-token';
const fmt = (v: number, d = 1) => v.toFixed(d);
/** The served soft fusion of a manifest's members, equal weights (no meta-learner fitted for the zoo with body-bert). */
const soft = { strategy: 'soft', temperature: 1, quorum: 1 } as const;
/** Bundle of the Worker before the tokenizer featurizer (commit 86b4d37) and right after it (2d1ccbc), index.js. */
const BUNDLE_BEFORE = { raw: 1_415_342, gzip: 278_171 };

const MODEL_FILE = 'models/spam/body-bert.int8.onnx';
const TOKENIZER_FILE = 'models/transformer/tokenizer.json';

async function transformerMember(root: string, store: { put(k: string, b: Uint8Array): Promise<unknown> }) {
  const model = new Uint8Array(await readFile(`${root}/${MODEL_FILE}`));
  const tok = new Uint8Array(await readFile(`${root}/${TOKENIZER_FILE}`));
  const [ms, ts] = [await sha256Hex(model), await sha256Hex(tok)];
  await store.put(modelKey(ms), model);
  await store.put(tokenizerKey(ts), tok);
  const member = transformerMemberSpec({ key: modelKey(ms), sha256: ms, bytes: model.length }, 'int8', {
    key: tokenizerKey(ts),
    sha256: ts,
    bytes: tok.length,
  });
  return { member, tokenizerKey: tokenizerKey(ts) };
}

function manifestsWith(spam: EnsembleManifest, bert: MemberSpec, threshold: number): EnsembleManifest[] {
  return [
    { ...spam, name: 'bert', members: [bert], fusion: soft },
    { ...spam, name: 'spam-soft', fusion: soft },
    { ...spam, name: 'spam-bert', members: [...spam.members, bert], fusion: soft },
    {
      ...spam,
      name: 'spam-bert-cascade',
      members: [...spam.members, bert],
      fusion: { ...soft, cascadeThreshold: threshold },
    },
  ];
}

/** The native server in its own process (see native-transformer.ts). */
async function startNative(
  root: string,
  manifests: EnsembleManifest[],
  objects: Record<string, string>,
): Promise<{ url: string; close(): void }> {
  const specFile = join(tmpdir(), `chorus-bench-native-${process.pid}.json`);
  await writeFile(specFile, JSON.stringify({ manifests, objects }));
  const { url, child } = await startReadyProcess(
    'test/bench/native-transformer.ts',
    { PORT: String(await freePort()), BENCH_NATIVE_SPEC: specFile },
    root,
  );
  return {
    url,
    close: () => {
      child.kill('SIGTERM');
      void rm(specFile, { force: true });
    },
  };
}

/** Which members answered one request, and which were dropped. */
async function ranOf(url: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const a = (await res.json()) as { ran?: string[]; degraded?: { member: string }[] };
  const dropped = (a.degraded ?? []).map((d) => d.member);
  return `${a.ran?.length ?? 0} ran${a.ran?.includes('body-bert') ? ' incl. body-bert' : ''}${dropped.length ? `, dropped ${dropped.join(', ')}` : ''}`;
}

/** Native, in-process, batch 1 over `messages`: ms/message, how often the transformer ran, accuracy. */
async function cascadeRun(
  manifest: EnsembleManifest,
  messages: { raw: string; label: number }[],
  store: MemoryBlobStore,
) {
  const cache = new SessionCache(createNodeBackend(), store, 1 << 30);
  for (const m of messages.slice(0, 5)) await predictEnsemble(manifest, [{ message: m.raw }], cache);
  let ran = 0;
  let right = 0;
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (const m of messages) {
    const a = await predictEnsemble(manifest, [{ message: m.raw }], cache);
    if (a.ran.includes('body-bert')) ran++;
    if (a.predictions[0]?.label === (m.label === 1 ? 'spam' : 'ham')) right++;
  }
  const ms = (performance.now() - t) / messages.length;
  // CPU time as well: on a shared, loaded machine wall time swings; one intra-op thread, so CPU ≈ work
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / messages.length;
  await cache.clear();
  return { ms, cpuMs, ran: ran / messages.length, accuracy: right / messages.length };
}

export async function transformerSection(options: { root: string; log: (...a: unknown[]) => void }): Promise<string> {
  const { root, log } = options;
  const threshold = Number(process.env.BENCH_CASCADE_THRESHOLD ?? 0.9);
  const test = (await loadCorpus()).filter((m) => m.split === 'test');
  const sample = test.filter((_, i) => i % 4 === 0).map((m) => ({ raw: m.raw, label: m.label }));
  // one long spam body (≥ 256 ids): the transformer's full cost
  const long = test.find((m) => m.label === 1 && m.views.body.length > 3000) ?? test[0];
  const body = JSON.stringify({ inputs: [{ message: long?.raw }] });

  const bundleDir = await buildWorker(root);
  const index = new Uint8Array(await readFile(`${bundleDir}/index.js`));
  const bundle = { raw: index.length, gzip: gzipSync(index, { level: 9 }).length };
  const edge = await startMiniflareEdge({ root, port: await freePort(), vars: { ADMIN_TOKEN: ADMIN }, bundleDir });
  const store = new MemoryBlobStore();
  const auth = { authorization: `Bearer ${ADMIN}` };
  try {
    const spam = await seedSpam(edge, root, ADMIN);
    for (const m of spam.members)
      await store.put(m.model.key, await readFile(`${root}/models/spam/${m.id}.${m.variant ?? 'int8'}.onnx`));
    const { member: bert, tokenizerKey: tokKey } = await transformerMember(root, {
      put: (k, b) => edge.putObject(k, b),
    });
    await transformerMember(root, store);
    const manifests = manifestsWith(spam, bert, threshold);
    for (const e of manifests) {
      const res = await fetch(`${edge.url}/v1/ensembles/${e.name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(e),
      });
      if (res.status !== 201) throw new Error(`publish ${e.name}: ${res.status} ${await res.text()}`);
    }
    const objects: Record<string, string> = {
      [bert.model.key]: `${root}/${MODEL_FILE}`,
      [tokKey]: `${root}/${TOKENIZER_FILE}`,
    };
    for (const m of spam.members) objects[m.model.key] = `${root}/models/spam/${m.id}.${m.variant ?? 'int8'}.onnx`;
    const native = await startNative(root, manifests, objects);
    const amount = Number(process.env.BENCH_BERT_REQUESTS ?? 300);
    const rows: { name: string; edge: Cannon; native: Cannon; ran: string }[] = [];
    try {
      for (const e of manifests) {
        const path = `/v1/ensembles/${e.name}/predict`;
        const edgeRun = await autocannon(`${edge.url}${path}`, { connections: 1, amount, body, headers: auth });
        const nativeRun = await autocannon(`${native.url}${path}`, { connections: 1, amount, body });
        const ran = `edge ${await ranOf(`${edge.url}${path}`, body, auth)}; native ${await ranOf(`${native.url}${path}`, body)}`;
        rows.push({ name: e.name, edge: edgeRun, native: nativeRun, ran });
        log(
          `${e.name}: edge p50 ${edgeRun.p50} mean ${fmt(edgeRun.mean, 2)} | native p50 ${nativeRun.p50} mean ${fmt(nativeRun.mean, 2)}`,
        );
      }
    } finally {
      native.close();
    }
    const [, , full, cascade] = manifests as [EnsembleManifest, EnsembleManifest, EnsembleManifest, EnsembleManifest];
    log(`cascade over ${sample.length} test messages (native, in-process)`);
    const noCascade = await cascadeRun(full, sample, store);
    const withCascade = await cascadeRun(cascade, sample, store);
    const line = (r: (typeof rows)[number]) =>
      `| ${r.name} | ${fmt(r.edge.p50)} | ${fmt(r.edge.mean, 2)} | ${fmt(r.edge.p99)} | ${fmt(r.native.p50)} | ${fmt(r.native.mean, 2)} | ${fmt(r.native.p99)} | ${fmt(r.edge.mean / r.native.mean, 2)}× | ${r.ran} |`;
    const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
    return `
## Transformer member (body-bert, int8) at the edge

Load average during the run: ${loadavg()
      .map((v) => v.toFixed(1))
      .join(', ')} on ${cpus().length} cores — the machine is
shared, so latencies swing between runs; compare within a row. One long spam message (${long?.views.body.length} body characters, cut to 256 ids) at c=1, ${amount} requests each, autocannon in its own
process; edge = the deploy bundle in workerd through Miniflare, native = the same engine over onnxruntime-node in a
process of its own (test/bench/native-transformer.ts). \`bert\` is the transformer alone, \`spam-soft\` the ${spam.members.length} zoo members (soft, equal weights),
\`spam-bert\` those and body-bert, \`spam-bert-cascade\` the ${spam.members.length + 1} run cheapest first, stopping once the soft margin reaches ${threshold}
(\`body-bert\` costs 20 units, so it runs last).

| ensemble | edge p50 ms | edge mean | edge p99 | native p50 | native mean | native p99 | edge / native (mean) | members that answered |
|---|---:|---:|---:|---:|---:|---:|---:|---|
${rows.map(line).join('\n')}

Cascade over ${sample.length} test-split messages (every 4th), native in-process, batch 1:

| | CPU ms/message | wall ms/message | body-bert ran | accuracy (argmax of soft) |
|---|---:|---:|---:|---:|
| ${spam.members.length + 1} members, no cascade | ${fmt(noCascade.cpuMs, 2)} | ${fmt(noCascade.ms, 2)} | ${fmt(100 * noCascade.ran)} % | ${fmt(100 * noCascade.accuracy, 2)} % |
| ${spam.members.length + 1} members, cascade at ${threshold} | ${fmt(withCascade.cpuMs, 2)} | ${fmt(withCascade.ms, 2)} | ${fmt(100 * withCascade.ran)} % | ${fmt(100 * withCascade.accuracy, 2)} % |
| saving | ${fmt(100 * (1 - withCascade.cpuMs / noCascade.cpuMs))} % | ${fmt(100 * (1 - withCascade.ms / noCascade.ms))} % | | |

Worker bundle (index.js, gzip -9): ${kib(bundle.gzip)} (raw ${kib(bundle.raw)}); before the tokenizer featurizer
(@huggingface/tokenizers 0.2.0) it was ${kib(BUNDLE_BEFORE.gzip)} (raw ${kib(BUNDLE_BEFORE.raw)}), so the tokenizer
costs about ${kib(bundle.gzip - BUNDLE_BEFORE.gzip)} gzip today (other code changed too; 23.7 KB when it was added).
`;
  } finally {
    await edge.stop();
    await rm(bundleDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(
    await transformerSection({ root: process.cwd(), log: (...a) => console.error('[bench:transformer]', ...a) }),
  );
}
