/** `chorus keys create|list|revoke|credit` (admin) and `chorus usage [export]`. */
import { Command, Option } from 'commander';
import { z } from 'zod';
import {
  CreatedKeySchema,
  CreateKeyRequestSchema,
  type KeyInfo,
  KeyInfoSchema,
  KeyListSchema,
  ScopeSchema,
  UsageResponseSchema,
} from '../../lib/schema';
import { context, print } from '../context';
import { UsageError } from '../errors';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const describeKey = (k: KeyInfo) =>
  `${k.id}  ${k.prefix}…  ${k.name}  scopes=${k.scopes.join(',')}  ensembles=${k.ensembles?.join(',') ?? '*'}` +
  `  ${k.rate_limit.requests}/${k.rate_limit.window_seconds}s${k.metered_budget ? '  budget' : ''}` +
  `${k.revoked_at ? `  revoked ${k.revoked_at}` : ''}`;

export function keysCommand(): Command {
  const keys = new Command('keys').description('API keys (admin)');

  keys
    .command('create')
    .description('create a key; the key itself is printed this once')
    .requiredOption('--name <name>', 'who or what the key is for')
    .addOption(new Option('--scopes <list>', `comma-separated: ${ScopeSchema.options.join(',')}`).default('predict'))
    .option('--ensembles <list>', 'comma-separated allow-list (default: every ensemble)')
    .option('--rate <requests/seconds>', 'rate limit, e.g. 600/60')
    .option('--budget <units>', 'prepaid units (402 when spent)', Number)
    .option('--customer <ref>', 'billing reference in exports')
    .action(async (o: Record<string, string | number | undefined>, cmd: Command) => {
      const ctx = context(cmd);
      const rate = typeof o.rate === 'string' ? /^(\d+)\/(\d+)$/.exec(o.rate) : null;
      if (o.rate !== undefined && !rate) throw new UsageError(`--rate takes requests/seconds, got '${o.rate}'`);
      const request = CreateKeyRequestSchema.safeParse({
        name: o.name,
        scopes: list(String(o.scopes)),
        ...(o.ensembles ? { ensembles: list(String(o.ensembles)) } : {}),
        ...(rate ? { rate_limit: { requests: Number(rate[1]), window_seconds: Number(rate[2]) } } : {}),
        ...(o.budget !== undefined ? { budget_units: o.budget } : {}),
        ...(o.customer ? { customer: o.customer } : {}),
      });
      if (!request.success) {
        const i = request.error.issues[0];
        throw new UsageError(`invalid key request: ${i?.path.join('.')}: ${i?.message}`);
      }
      const created = await ctx.client.json(CreatedKeySchema, 'POST', '/v1/keys', { json: request.data });
      print(ctx, created, () => [describeKey(created), `key: ${created.key}   (shown once; store it now)`]);
    });

  keys
    .command('list')
    .description('every key: id, prefix, scopes, limits (never the key)')
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const answer = await ctx.client.get(KeyListSchema, '/v1/keys');
      print(ctx, answer, () => (answer.keys.length ? answer.keys.map(describeKey) : '(no keys)'));
    });

  keys
    .command('revoke')
    .description('revoke a key: its next request is refused')
    .argument('<id>', 'key_…')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const key = await ctx.client.json(KeyInfoSchema, 'DELETE', `/v1/keys/${encodeURIComponent(id)}`);
      print(ctx, key, () => `revoked ${describeKey(key)}`);
    });

  keys
    .command('credit')
    .description('add prepaid units to a key created with a budget')
    .argument('<id>', 'key_…')
    .argument('<units>', 'units to add', Number)
    .action(async (id: string, units: number, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const answer = await ctx.client.json(
        z.object({ id: z.string(), remaining_units: z.number() }),
        'POST',
        `/v1/keys/${encodeURIComponent(id)}/credit`,
        { json: { units } },
      );
      print(ctx, answer, () => `${answer.id}: ${answer.remaining_units} units left`);
    });
  return keys;
}

export function usageCommand(): Command {
  const usage = new Command('usage').description("the calling key's usage, and (admin) the billing export");
  // `show` is the default so `chorus usage --from …` works, and the export's --from/--to stay its own
  usage
    .command('show', { isDefault: true })
    .description("the calling key's units and requests by day and ensemble")
    .option('--from <day>', 'YYYY-MM-DD')
    .option('--to <day>', 'YYYY-MM-DD (inclusive)')
    .action(async (o: { from?: string; to?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const answer = await ctx.client.get(UsageResponseSchema, '/v1/usage', { from: o.from, to: o.to });
      print(ctx, answer, () => [
        ...answer.days.map((d) => `${d.day}  ${d.ensemble.padEnd(20)} ${d.units} units  ${d.requests} requests`),
        `${answer.key}: ${answer.totals.units} units, ${answer.totals.requests} requests` +
          (answer.remaining_units === null ? '' : `, ${answer.remaining_units} units left`),
      ]);
    });
  usage
    .command('export')
    .description('billing meter events, one per key per hour in [from, to) (admin)')
    .requiredOption('--from <time>', 'ISO timestamp')
    .requiredOption('--to <time>', 'ISO timestamp')
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv']).default('ndjson'))
    .action(async (o: { from: string; to: string; format: string }, cmd: Command) => {
      const ctx = context(cmd);
      const res = await ctx.client.request('GET', '/v1/usage/export', { query: o });
      process.stdout.write(await res.text());
    });
  return usage;
}
