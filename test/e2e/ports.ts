import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, startStack } from '../../infra/local-stack';

/** A free loopback port (asks the OS, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The local stack on free ports with a scratch state directory (under `baseDir`, the OS temp dir
 * by default); `stop` also removes the directory. A port found free can be taken by another
 * process (e2e files start stacks in parallel) before the stack binds it: such a start fails with
 * EADDRINUSE and is retried on fresh ports.
 */
export async function startTestStack(
  name: string,
  options: { baseDir?: string; log?: (line: string) => void; attempts?: number } = {},
): Promise<Stack & { stateDir: string }> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const stateDir = await mkdtemp(join(options.baseDir ?? tmpdir(), `chorus-${name}-`));
    try {
      const stack = await startStack({
        root: process.cwd(),
        stateDir,
        s3Port: await freePort(),
        edgePort: await freePort(),
        containerPort: await freePort(),
        ...(options.log ? { log: options.log } : {}),
      });
      return {
        ...stack,
        stateDir,
        stop: async () => {
          await stack.stop();
          await rm(stateDir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      await rm(stateDir, { recursive: true, force: true });
      if (attempt >= attempts || !(e instanceof Error) || !e.message.includes('EADDRINUSE')) throw e;
    }
  }
}
