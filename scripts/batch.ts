/**
 * `npm run batch -- FILE [--ensemble spam] [--name NAME]`: uploads a JSONL file (one
 * {"id"?, "input": {…}} per line) for batch fusion, shows progress, and writes FILE.results.jsonl
 * and FILE.errors.jsonl next to it. CHORUS_URL (http://127.0.0.1:8787) and CHORUS_ADMIN_TOKEN
 * (dev-admin-token) say where and as whom.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { batchClient } from './batch-client';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ensemble: { type: 'string', default: 'spam' }, name: { type: 'string' }, help: { type: 'boolean' } },
});
const file = positionals[0];
if (!file || values.help) {
  console.log('usage: npm run batch -- FILE.jsonl [--ensemble spam] [--name NAME]');
  process.exit(file ? 0 : 2);
}
const base = process.env.CHORUS_URL ?? 'http://127.0.0.1:8787';
const client = batchClient(base, process.env.CHORUS_ADMIN_TOKEN ?? 'dev-admin-token');

const started = Date.now();
const accepted = await client.upload(await openAsBlob(file), values.ensemble, values.name);
console.log(`batch ${accepted.id}: ${accepted.bytes} bytes stored as ${accepted.key}`);
const status = await client.finished(accepted.id, (s) =>
  console.log(`${s.state.padEnd(10)} parts ${s.parts.done}/${s.parts.total}`),
);
const seconds = (Date.now() - started) / 1000;
if (status.state === 'failed') {
  console.error(`failed: ${status.failure ?? 'no reason recorded'}`);
  process.exit(1);
}
for (const which of ['results', 'errors'] as const) {
  const res = await client.file(accepted.id, which);
  const out = `${file.replace(/\.jsonl?$/, '')}.${which}.jsonl`;
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(out));
  console.log(`${which}: ${out}`);
}
const { lines, ok, errors } = status.counts;
console.log(
  `${lines} lines: ${ok} fused, ${errors} errors, in ${seconds.toFixed(1)} s (${(lines / seconds).toFixed(0)} lines/s)`,
);
