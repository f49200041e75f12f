/**
 * The native baseline in a process of its own (so it never shares a core's event loop with the
 * load client): the spam zoo and each member alone, from the committed model files, over
 * onnxruntime-node. `PORT` to listen on; prints `ready <url>` when it answers.
 */
import { readFile } from 'node:fs/promises';
import { EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore } from '../../lib/store';
import { singleMemberManifests } from './manifests';
import { startNativeServer } from './native-server';

const manifest = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));
const store = new MemoryBlobStore();
for (const m of manifest.members) {
  await store.put(m.model.key, await readFile(`models/spam/${m.id}.${m.variant ?? 'int8'}.onnx`));
}
const all = [manifest, ...singleMemberManifests(manifest)];
const server = startNativeServer(store, Object.fromEntries(all.map((e) => [e.name, e])), Number(process.env.PORT));
console.log(`ready ${server.url}`);
