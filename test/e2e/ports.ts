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

/** The local stack on free ports with a scratch state directory; `stop` also removes the directory. */
export async function startTestStack(name: string): Promise<Stack & { stateDir: string }> {
  const stateDir = await mkdtemp(join(tmpdir(), `chorus-${name}-`));
  const stack = await startStack({
    root: process.cwd(),
    stateDir,
    s3Port: await freePort(),
    edgePort: await freePort(),
    containerPort: await freePort(),
  });
  return {
    ...stack,
    stateDir,
    stop: async () => {
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
