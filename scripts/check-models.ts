/**
 * Rebuilds the zoo into a scratch directory and fails if any file differs from the committed
 * models/ (METRICS.md, METRICS.json, manifest, reference answers, every ONNX file).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = await mkdtemp(join(tmpdir(), 'chorus-models-'));
const run = spawnSync(process.execPath, ['--import', 'tsx', 'models/build.ts'], {
  stdio: 'inherit',
  env: { ...process.env, MODELS_OUT_DIR: scratch },
});
if (run.status !== 0) process.exit(run.status ?? 1);
const files = ['METRICS.md', 'METRICS.json', ...(await readdir(join(scratch, 'spam'))).map((f) => join('spam', f))];
const differing: string[] = [];
for (const f of files) {
  const [built, committed] = await Promise.all([
    readFile(join(scratch, f)),
    readFile(join('models', f)).catch(() => Buffer.alloc(0)),
  ]);
  if (!built.equals(committed)) differing.push(f);
}
await rm(scratch, { recursive: true, force: true });
if (differing.length > 0) {
  console.error(`models/ is not what the build produces; differing: ${differing.join(', ')}`);
  process.exit(1);
}
console.log(`models/: ${files.length} files rebuilt byte-identically`);
