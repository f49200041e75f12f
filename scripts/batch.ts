/**
 * `npm run batch -- FILE [--ensemble spam] [--name NAME]`: `chorus batches submit` (cli/) with the
 * local stack's defaults: uploads a JSONL file, shows progress, and writes FILE.results.jsonl and
 * FILE.errors.jsonl next to it. CHORUS_URL (http://127.0.0.1:8787) and CHORUS_KEY, else
 * CHORUS_ADMIN_TOKEN (dev-admin-token), say where and as whom.
 */
import { run } from '../cli';

const args = process.argv.slice(2);
if (!args.includes('--ensemble') && !args.includes('-e')) args.push('--ensemble', 'spam');
process.env.CHORUS_KEY ??= process.env.CHORUS_ADMIN_TOKEN ?? 'dev-admin-token';
process.exitCode = await run(['batches', 'submit', ...args]);
