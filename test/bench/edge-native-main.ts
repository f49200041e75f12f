/**
 * The edge-vs-native section of `npm run bench` on its own (no wrangler dev stack, so no
 * reference row): `npx tsx test/bench/edge-native-main.ts` prints the section's markdown on stdout
 * and progress on stderr. BENCH_C1_REQUESTS / BENCH_SAT_REQUESTS / BENCH_SAT_CONNECTIONS as there.
 */
import { readFile } from 'node:fs/promises';
import { EnsembleManifestSchema } from '../../lib/schema';
import { edgeNativeSection } from './edge-native';

const manifest = EnsembleManifestSchema.parse(JSON.parse(await readFile('models/spam/manifest.json', 'utf8')));
const reference = JSON.parse(await readFile('models/spam/reference.json', 'utf8')) as { message: string }[];
const markdown = await edgeNativeSection({
  root: process.cwd(),
  manifest,
  messages: reference.map((r) => r.message),
  log: (...a: unknown[]) => console.error('[bench]', ...a),
});
console.log(markdown);
