import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';

/** Puts the spam zoo's models into a Miniflare edge's R2 binding and publishes the manifest. */
export async function seedSpam(
  edge: { url: string; putObject(key: string, bytes: Uint8Array): Promise<void> },
  root: string,
  adminToken: string,
): Promise<EnsembleManifest> {
  const manifest = EnsembleManifestSchema.parse(
    JSON.parse(await readFile(join(root, 'models/spam/manifest.json'), 'utf8')),
  );
  for (const m of manifest.members) {
    await edge.putObject(m.model.key, await readFile(join(root, 'models/spam', `${m.id}.${m.variant ?? 'int8'}.onnx`)));
  }
  const res = await fetch(`${edge.url}/v1/ensembles/spam`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(manifest),
  });
  if (res.status !== 201) throw new Error(`publish spam: ${res.status} ${await res.text()}`);
  return manifest;
}
