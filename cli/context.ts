/**
 * What every command needs: the client (from --url/--key, else CHORUS_URL/CHORUS_KEY), whether
 * to answer in JSON, and local files read with a UsageError (exit 1) when they are not usable.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { z } from 'zod';
import { UsageError } from './errors';
import { Client } from './http';

export const DEFAULT_URL = 'http://127.0.0.1:8787';

export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

export interface Ctx {
  client: Client;
  json: boolean;
}

export function context(cmd: Command): Ctx {
  const o = cmd.optsWithGlobals<GlobalOptions>();
  const url = o.url ?? process.env.CHORUS_URL ?? DEFAULT_URL;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, got '${url}'`);
  const key = o.key ?? process.env.CHORUS_KEY;
  return { client: new Client({ url, key }), json: o.json === true };
}

/** The command's answer on stdout: the JSON value with --json, else the human lines. */
export function print(ctx: Ctx, value: unknown, human: () => string | string[]): void {
  if (ctx.json) {
    process.stdout.write(`${JSON.stringify(value)}\n`);
    return;
  }
  const lines = human();
  process.stdout.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
}

export async function readLocal(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const why = (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));
    throw new UsageError(`cannot read ${path}: ${why}`);
  }
}

/** A local JSON file checked by `schema`; what is wrong with it is a usage error, not the server's. */
export async function readJsonFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  return parseJson(new TextDecoder().decode(await readLocal(path)), schema, path);
}

export function parseJson<S extends z.ZodType>(text: string, schema: S, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new UsageError(`${what} is not valid: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** stdin as bytes (for `-` or a pipe). */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}
