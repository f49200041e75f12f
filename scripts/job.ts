/**
 * `npm run job -- '<job spec JSON>'` (or a path to a JSON file): submits a job through the edge
 * and shows its progress until it ends. CHORUS_URL (http://127.0.0.1:8787) and CHORUS_ADMIN_TOKEN
 * (dev-admin-token) say where and as whom.
 */
import { existsSync, readFileSync } from 'node:fs';
import { JobSpecSchema, JobStatusSchema } from '../lib/schema';

const arg = process.argv[2];
if (!arg || arg === '--help') {
  console.log("usage: npm run job -- '<job spec JSON>' | spec.json");
  process.exit(arg ? 0 : 2);
}
const base = process.env.CHORUS_URL ?? 'http://127.0.0.1:8787';
const token = process.env.CHORUS_ADMIN_TOKEN ?? 'dev-admin-token';
const parsed = JobSpecSchema.safeParse(JSON.parse(existsSync(arg) ? readFileSync(arg, 'utf8') : arg));
if (!parsed.success) {
  console.error(
    `invalid job spec:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
  );
  process.exit(2);
}
const res = await fetch(`${base}/v1/jobs`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify(parsed.data),
});
if (res.status !== 202) {
  console.error(`submission refused: ${res.status} ${await res.text()}`);
  process.exit(1);
}
const { id } = (await res.json()) as { id: string };
console.log(`job ${id} (${parsed.data.kind} on ${parsed.data.ensemble})`);
let last = '';
for (;;) {
  const polled = await fetch(`${base}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } });
  const status = JobStatusSchema.parse(await polled.json());
  const line = `${status.phase.padEnd(10)} ${(100 * status.progress).toFixed(0).padStart(3)} %  ${status.step}`;
  if (line !== last) console.log(line);
  last = line;
  if (['succeeded', 'gated', 'failed'].includes(status.phase)) {
    if (status.gate) console.log(`gate: ${status.gate.passed ? 'passed' : 'failed'} — ${status.gate.detail}`);
    if (status.error) console.log(`error: ${status.error}`);
    console.log(`report: ${base}/v1/jobs/${id}/report`);
    process.exit(status.phase === 'failed' ? 1 : 0);
  }
  await new Promise((r) => setTimeout(r, 500));
}
