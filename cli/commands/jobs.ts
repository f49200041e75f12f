/** `chorus jobs submit|follow|report`: jobs run by the container, followed to their end. */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { JobIdSchema, JobSpecSchema, type JobStatus, JobStatusSchema } from '../../lib/schema';
import { type Ctx, context, parseJson, print, readLocal } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { poll } from '../poll';
import { progress } from '../progress';

const JobAcceptedSchema = z.object({
  id: JobIdSchema,
  status: JobStatusSchema,
  links: z.record(z.string(), z.string()),
});

const ENDED = new Set(['succeeded', 'gated', 'failed']);

const jobPath = (id: string, rest = '') => `/v1/jobs/${encodeURIComponent(id)}${rest}`;

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('jobs run by the container function');

  jobs
    .command('submit')
    .description('submit a job spec (a .json file, or the JSON itself)')
    .argument('<spec>', 'spec.json or an inline JSON spec')
    .option('-F, --follow', 'follow the job to its end (exit code says how it ended)')
    .action(async (spec: string, o: { follow?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const inline = spec.trimStart().startsWith('{');
      const text = inline ? spec : new TextDecoder().decode(await readLocal(spec));
      const parsed = parseJson(text, JobSpecSchema, inline ? 'the job spec' : spec);
      const accepted = await ctx.client.json(JobAcceptedSchema, 'POST', '/v1/jobs', { json: parsed });
      if (!o.follow) {
        print(
          ctx,
          accepted,
          () => `job ${accepted.id} (${parsed.kind} on ${parsed.ensemble}) ${accepted.status.phase}`,
        );
        return;
      }
      if (!ctx.json) process.stderr.write(`job ${accepted.id} (${parsed.kind} on ${parsed.ensemble})\n`);
      await follow(ctx, accepted.id);
    });

  jobs
    .command('follow')
    .description("show a job's progress until it ends")
    .argument('<id>')
    .option('--interval <ms>', 'polling interval', (v) => Number(v), 500)
    .action(async (id: string, o: { interval: number }, cmd: Command) => {
      await follow(context(cmd), id, o.interval);
    });

  jobs
    .command('status')
    .description("a job's phase, progress and gate, once")
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const status = await ctx.client.get(JobStatusSchema, jobPath(id));
      print(ctx, status, () => describeStatus(status));
      endedBadly(status);
    });

  jobs
    .command('report')
    .description("save a finished job's HTML report")
    .argument('<id>')
    .option('-o, --output <file>', 'where to write it (default: <id>.report.html)')
    .action(async (id: string, o: { output?: string }, cmd: Command) => {
      const ctx = context(cmd);
      if (!JobIdSchema.safeParse(id).success) throw new UsageError(`'${id}' is not a job id`);
      const html = await (await ctx.client.request('GET', jobPath(id, '/report'))).text();
      const file = o.output ?? `${id}.report.html`;
      await writeFile(file, html);
      print(ctx, { id, file, bytes: Buffer.byteLength(html) }, () => `report of job ${id}: ${file}`);
    });

  return jobs;
}

function describeStatus(s: JobStatus): string[] {
  return [
    `job ${s.id} (${s.kind} on ${s.ensemble}): ${s.phase} ${(100 * s.progress).toFixed(0)} % ${s.step}`,
    ...(s.gate ? [`gate: ${s.gate.passed ? 'passed' : 'failed'} — ${s.gate.detail}`] : []),
    ...(s.publishedVersion !== undefined ? [`published: ${s.ensemble} v${s.publishedVersion}`] : []),
    ...(s.error ? [`error: ${s.error}`] : []),
  ];
}

/** Failed → exit 4, gated → exit 5 (after the status is printed). */
function endedBadly(s: JobStatus): void {
  if (s.phase === 'failed') throw new CliError(`job ${s.id} failed: ${s.error ?? 'no reason recorded'}`, EXIT.failed);
  if (s.phase === 'gated') throw new CliError(`job ${s.id} gated: ${s.gate?.detail ?? 'not published'}`, EXIT.gated);
}

/** Polls until the job ends, with a progress bar on stderr; the final status goes to stdout. */
export async function follow(ctx: Ctx, id: string, intervalMs = 500): Promise<JobStatus> {
  const bar = progress(`job ${id.slice(0, 8)}`, { unit: '%' });
  let final: JobStatus;
  try {
    final = await poll(
      () => ctx.client.get(JobStatusSchema, jobPath(id)),
      (s) => ENDED.has(s.phase),
      (s) => bar.update(Math.round(100 * s.progress), 100, `${s.phase} ${s.step}`),
      intervalMs,
    );
  } finally {
    bar.stop();
  }
  print(ctx, final, () => [...describeStatus(final), `report: ${ctx.client.url}${jobPath(id, '/report')}`]);
  endedBadly(final);
  return final;
}
