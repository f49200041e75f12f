/**
 * Runs the `chorus` bin (node_modules/.bin/chorus) as a user's shell would and collects what it
 * says. Node only, so it lives here and not under test/helpers (which the workerd tests type-check).
 */
import { spawn } from 'node:child_process';

export interface ChorusRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runChorus(
  args: string[],
  env: { CHORUS_URL: string; CHORUS_KEY: string },
  stdin: string | Uint8Array = '',
): Promise<ChorusRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('node_modules/.bin/chorus', args, { env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(stdin);
  });
}
