/** `chorus batches submit|status|results|errors`: JSONL batch fusion, followed part by part. */
import { constants, createWriteStream, openAsBlob } from 'node:fs';
import { access } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command } from 'commander';
import type { BatchStatus } from '../../lib/schema';
import { type BatchClient, batchClient } from '../batch-client';
import { type Ctx, context, print } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { progress } from '../progress';

const describe = (s: BatchStatus) =>
  `batch ${s.id} (${s.ensemble} v${s.version}): ${s.state}, parts ${s.parts.done}/${s.parts.total}, ` +
  `${s.counts.lines} lines: ${s.counts.ok} fused, ${s.counts.errors} errors${s.failure ? ` — ${s.failure}` : ''}`;

export function batchesCommand(): Command {
  const batches = new Command('batches').description('batch fusion of JSONL files');

  batches
    .command('submit')
    .description('upload a JSONL file ({"id"?, "input"} per line), follow it, save FILE.results/errors.jsonl')
    .argument('<file>', 'a .jsonl file')
    .requiredOption('-e, --ensemble <name>', 'the ensemble that fuses every line')
    .option('-n, --name <name>', 'its name in the bucket (the same name and bytes are the same batch)')
    .option('--no-follow', 'return once the file is stored and queued')
    .action(async (file: string, o: { ensemble: string; name?: string; follow: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const client = batchClient(ctx.client);
      const body = await blobOf(file);
      const accepted = await client.upload(body, o.ensemble, o.name);
      if (!o.follow) {
        print(ctx, accepted, () => `batch ${accepted.id}: ${accepted.bytes} bytes stored as ${accepted.key}`);
        return;
      }
      if (!ctx.json) process.stderr.write(`batch ${accepted.id}: ${accepted.bytes} bytes stored as ${accepted.key}\n`);
      const status = await follow(client, accepted.id);
      const files: Record<string, string> = {};
      if (status.state === 'done') {
        for (const which of ['results', 'errors'] as const) {
          files[which] = `${file.replace(/\.jsonl?$/, '')}.${which}.jsonl`;
          await save(await client.file(accepted.id, which), createWriteStream(files[which]));
        }
      }
      print(ctx, { ...status, files }, () => [describe(status), ...Object.values(files).map((f) => `wrote ${f}`)]);
      failedBatch(status);
    });

  batches
    .command('status')
    .description("a batch's state, counts and parts")
    .argument('<id>')
    .option('-F, --follow', 'follow it until it is done or failed')
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const client = batchClient(ctx.client);
      const status = o.follow ? await follow(client, id) : await client.status(id);
      print(ctx, status, () => describe(status));
      failedBatch(status);
    });

  for (const which of ['results', 'errors'] as const) {
    batches
      .command(which)
      .description(`a finished batch's ${which} file (JSONL) to stdout or --output`)
      .argument('<id>')
      .option('-o, --output <file>', 'write it to a file')
      .action(async (id: string, o: { output?: string }, cmd: Command) => {
        const ctx: Ctx = context(cmd);
        const res = await batchClient(ctx.client).file(id, which);
        await save(res, o.output ? createWriteStream(o.output) : process.stdout);
      });
  }
  return batches;
}

/** The file as a Blob that streams from disk (openAsBlob throws synchronously for a missing file). */
async function blobOf(file: string): Promise<Blob> {
  try {
    await access(file, constants.R_OK);
    return await openAsBlob(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as { code?: string }).code ?? String(e)}`);
  }
}

async function follow(client: BatchClient, id: string): Promise<BatchStatus> {
  const bar = progress(`batch ${id.slice(0, 8)}`, { unit: 'parts' });
  try {
    return await client.finished(id, (s) => bar.update(s.parts.done, Math.max(s.parts.total, 1), s.state));
  } finally {
    bar.stop();
  }
}

function failedBatch(s: BatchStatus): void {
  if (s.state === 'failed')
    throw new CliError(`batch ${s.id} failed: ${s.failure ?? 'no reason recorded'}`, EXIT.failed);
}

async function save(res: Response, to: Writable): Promise<void> {
  if (!res.body) return;
  const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  // stdout must stay open for whatever the shell writes after us
  if (to === process.stdout) {
    for await (const chunk of source) process.stdout.write(chunk as Uint8Array);
    return;
  }
  await pipeline(source, to);
}
