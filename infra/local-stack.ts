/**
 * The embedded local stack behind `npm start`: an S3-protocol server (s3rver) on loopback, the
 * bucket seeded with the example zoo, and the edge Worker under `wrangler dev` pointed at it.
 * Also used by the end-to-end tests and the benchmark, so they drive the same stack a user runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EnsembleManifestSchema } from '../lib/schema';
import { S3BlobStore } from '../lib/store';
import { createApiKey } from './keys';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (
  options: Record<string, unknown>,
) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

export interface StackOptions {
  root: string;
  s3Port: number;
  edgePort: number;
  containerPort: number;
  jobSecret?: string;
  /** where s3rver and wrangler keep their state */
  stateDir: string;
  adminToken?: string;
  log?: (line: string) => void;
}

export interface Stack {
  edgeUrl: string;
  containerUrl: string;
  /** SIGKILLs the container function (crash tests) */
  killContainer(): Promise<void>;
  /** starts the container function again, with extra environment */
  startContainer(env?: Record<string, string>): Promise<void>;
  s3Endpoint: string;
  bucket: string;
  adminToken: string;
  /** API keys made at start (shown once): one with every scope, one that may only predict with spam */
  adminKey: string;
  demoKey: string;
  store: S3BlobStore;
  stop(): Promise<void>;
}

export const BUCKET = 'chorus';
const S3_KEY = 'S3RVER';

async function waitFor(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`process exited with ${child.exitCode} before ${url} answered`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Uploads the zoo's models and publishes the spam manifest unless that version is already current. */
export async function seedZoo(store: S3BlobStore, root: string, edgeUrl: string, adminToken: string): Promise<void> {
  const manifest = EnsembleManifestSchema.parse(
    JSON.parse(await readFile(join(root, 'models/spam/manifest.json'), 'utf8')),
  );
  for (const member of manifest.members) {
    if (await store.head(member.model.key)) continue;
    const bytes = await readFile(join(root, 'models/spam', `${member.id}.${member.variant ?? 'int8'}.onnx`));
    await store.put(member.model.key, bytes);
  }
  const current = await fetch(`${edgeUrl}/v1/ensembles/spam`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (current.ok) return;
  const res = await fetch(`${edgeUrl}/v1/ensembles/spam`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(manifest),
  });
  if (res.status !== 201) throw new Error(`publishing the spam ensemble failed: ${res.status} ${await res.text()}`);
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const adminToken = options.adminToken ?? 'dev-admin-token';
  await mkdir(join(options.stateDir, 's3'), { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port,
    directory: join(options.stateDir, 's3'),
    silent: true,
    configureBuckets: [{ name: BUCKET }],
  });
  await s3.run();
  const s3Endpoint = `http://127.0.0.1:${options.s3Port}`;
  const store = new S3BlobStore({ endpoint: s3Endpoint, bucket: BUCKET, accessKeyId: S3_KEY, secretAccessKey: S3_KEY });
  log(`local S3 (s3rver) on ${s3Endpoint}, bucket '${BUCKET}'`);

  const jobSecret = options.jobSecret ?? 'dev-job-secret-change-me';
  const containerUrl = `http://127.0.0.1:${options.containerPort}`;
  const edgeUrl = `http://127.0.0.1:${options.edgePort}`;
  let container: ChildProcess | undefined;
  const containerLines: string[] = [];
  const startContainer = async (extra: Record<string, string> = {}) => {
    container = spawn(process.execPath, ['--import', 'tsx', join(options.root, 'functions/container/main.ts')], {
      cwd: options.root,
      env: {
        ...process.env,
        PORT: String(options.containerPort),
        S3_ENDPOINT: s3Endpoint,
        S3_BUCKET: BUCKET,
        S3_ACCESS_KEY_ID: S3_KEY,
        S3_SECRET_ACCESS_KEY: S3_KEY,
        EDGE_URL: edgeUrl,
        JOB_SECRET: jobSecret,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keepC = (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n')) if (l.trim()) containerLines.push(l);
      if (containerLines.length > 200) containerLines.splice(0, containerLines.length - 200);
    };
    container.stdout?.on('data', keepC);
    container.stderr?.on('data', keepC);
    await waitFor(`${containerUrl}/healthz`, 60_000, container);
  };
  const killContainer = async () => {
    const c = container;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };

  const wranglerBin = join(options.root, 'node_modules/wrangler/bin/wrangler.js');
  const vars = {
    CONTAINER_URL: containerUrl,
    JOB_SECRET: jobSecret,
    S3_ENDPOINT: s3Endpoint,
    S3_BUCKET: BUCKET,
    S3_ACCESS_KEY_ID: S3_KEY,
    S3_SECRET_ACCESS_KEY: S3_KEY,
    ADMIN_TOKEN: adminToken,
  };
  const edge = spawn(
    process.execPath,
    [
      wranglerBin,
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.edgePort),
      '--persist-to',
      join(options.stateDir, 'wrangler'),
      '--show-interactive-dev-session=false',
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    {
      cwd: options.root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(l);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  edge.stdout?.on('data', keep);
  edge.stderr?.on('data', keep);
  const stop = async () => {
    await killContainer();
    if (edge.exitCode === null && edge.pid) {
      try {
        process.kill(-edge.pid, 'SIGTERM'); // the whole group: wrangler and its workerd
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          try {
            if (edge.pid) process.kill(-edge.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          resolve();
        }, 5000);
        edge.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await s3.close();
  };
  let adminKey = '';
  let demoKey = '';
  try {
    await waitFor(`${edgeUrl}/healthz`, 90_000, edge);
    log(`edge Worker (wrangler dev) on ${edgeUrl}`);
    await seedZoo(store, options.root, edgeUrl, adminToken);
    log('bucket seeded with the example zoo; spam ensemble published');
    adminKey = await createApiKey(edgeUrl, adminToken, { name: 'local admin (npm start)', scopes: ['admin'] });
    demoKey = await createApiKey(edgeUrl, adminToken, {
      name: 'demo (npm start)',
      scopes: ['predict'],
      ensembles: ['spam'],
    });
    await startContainer();
    log(`container function on ${containerUrl}`);
  } catch (e) {
    await stop();
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}\n--- wrangler output ---\n${lines.join('\n')}\n--- container output ---\n${containerLines.join('\n')}`,
    );
  }
  const urls = { edgeUrl, containerUrl, s3Endpoint, bucket: BUCKET };
  return { ...urls, killContainer, startContainer, adminToken, adminKey, demoKey, store, stop };
}
