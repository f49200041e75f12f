/**
 * The edge Worker in workerd through Miniflare's API, with no `wrangler dev` proxy in front: the
 * bundle `wrangler deploy --dry-run` would upload, the bindings wrangler.toml declares (read by
 * wrangler's own `unstable_getMiniflareWorkerOptions`), requests on a socket straight to the Worker
 * (`unsafeDirectSockets`: not through Miniflare's entry worker).
 * `workerdRss()` reads the workerd process's resident memory from /proc.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

export interface MiniflareEdge {
  url: string;
  /** writes an object into the Worker's `BUCKET` R2 binding (seeding models) */
  putObject(key: string, bytes: Uint8Array): Promise<void>;
  /** resident set of the workerd process, bytes (0 when it cannot be read) */
  workerdRss(): number;
  workerdPid: number | undefined;
  stop(): Promise<void>;
}

/** Builds the Worker exactly as deploy would (esbuild through wrangler) into a temp dir. */
export async function buildWorker(root: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'chorus-worker-'));
  const r = spawnSync(
    process.execPath,
    ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', out],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed: ${r.stderr}`);
  return out;
}

/** Child processes of `pid` named `name` (workerd is Miniflare's child). */
function childPids(pid: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid && comm.startsWith(name)) found.push(Number(entry));
    } catch {
      // the process went away between listing and reading
    }
  }
  return found;
}

export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function withoutRules<T extends { modulesRules?: unknown }>(options: T): Omit<T, 'modulesRules'> {
  const { modulesRules: _rules, ...rest } = options;
  return rest;
}

export async function startMiniflareEdge(options: {
  root: string;
  port: number;
  vars: Record<string, string>;
  /** a Worker bundle dir from buildWorker (built here when absent) */
  bundleDir?: string;
  /** where workerd's V8 inspector listens (the soak reads the isolate's heap through it) */
  inspectorPort?: number;
}): Promise<MiniflareEdge> {
  const bundleDir = options.bundleDir ?? (await buildWorker(options.root));
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(options.root, 'wrangler.toml'));
  const before = new Set(childPids(process.pid, 'workerd'));
  // wrangler hands out v4-shaped worker options; miniflare 5 converts them itself
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: options.port,
      ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
      // in memory: nothing persisted between runs
      workers: [
        {
          ...withoutRules(workerOptions),
          name: 'chorus-edge',
          // the bundle as deploy uploads it: the entry module and the wasm it imports, precompiled
          modules: [
            { type: 'ESModule', path: join(bundleDir, 'index.js') },
            ...readdirSync(bundleDir)
              .filter((f) => f.endsWith('.wasm'))
              .map((f) => ({ type: 'CompiledWasm' as const, path: join(bundleDir, f) })),
          ],
          modulesRoot: bundleDir,
          bindings: { ...(workerOptions.bindings ?? {}), ...options.vars },
          cronTriggers: [],
          // a socket straight to this Worker: requests skip Miniflare's entry worker (a second hop)
          unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
        },
      ],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL('chorus-edge')).toString().replace(/\/$/, '');
  const workerdPid = childPids(process.pid, 'workerd').find((p) => !before.has(p));
  return {
    url,
    workerdPid,
    workerdRss: () => rssBytes(workerdPid),
    putObject: async (key, bytes) => {
      const bucket = await mf.getR2Bucket('BUCKET');
      await bucket.put(key, bytes);
    },
    stop: async () => {
      await mf.dispose();
      if (!options.bundleDir) await rm(bundleDir, { recursive: true, force: true });
    },
  };
}
