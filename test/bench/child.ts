import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Starts a bench server script in a process of its own (through tsx) and waits for the
 * `ready <url>` line it prints on stdout once it listens.
 */
export async function startReadyProcess(
  script: string,
  env: Record<string, string>,
  cwd?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      const m = /ready (\S+)/.exec(c.toString());
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`native process exited ${code}`)));
  });
  return { url, child };
}
