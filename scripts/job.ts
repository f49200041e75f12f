/**
 * `npm run job -- '<job spec JSON>' | spec.json`: `chorus jobs submit SPEC --follow` (cli/) with
 * the local stack's defaults: CHORUS_URL (http://127.0.0.1:8787) and CHORUS_KEY, else
 * CHORUS_ADMIN_TOKEN (dev-admin-token).
 */
import { run } from '../cli';

const spec = process.argv[2];
if (!spec || spec === '--help') {
  console.log("usage: npm run job -- '<job spec JSON>' | spec.json   (the same as: chorus jobs submit SPEC --follow)");
  process.exit(spec ? 0 : 1);
}
process.env.CHORUS_KEY ??= process.env.CHORUS_ADMIN_TOKEN ?? 'dev-admin-token';
process.exitCode = await run(['jobs', 'submit', spec, '--follow']);
