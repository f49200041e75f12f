/**
 * The native side of the transformer section in a process of its own (the bench process holds the
 * corpus; its garbage collection must not land in native latencies). Reads
 * `BENCH_NATIVE_SPEC` (JSON: manifests, and bucket key → file) and serves them on `PORT` over
 * onnxruntime-node; prints `ready <url>`.
 */
import { readFile } from 'node:fs/promises';
import type { EnsembleManifest } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';
import { startNativeServer } from './native-server';

const spec = JSON.parse(await readFile(process.env.BENCH_NATIVE_SPEC ?? '', 'utf8')) as {
  manifests: EnsembleManifest[];
  objects: Record<string, string>;
};
const store = new MemoryBlobStore();
for (const [key, path] of Object.entries(spec.objects)) await store.put(key, new Uint8Array(await readFile(path)));
const server = startNativeServer(
  store,
  Object.fromEntries(spec.manifests.map((e) => [e.name, e])),
  Number(process.env.PORT),
);
console.log(`ready ${server.url}`);
