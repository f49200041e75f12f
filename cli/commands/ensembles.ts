/** `chorus ensembles …`: list, read, publish, roll back, archive, restore, versions, diff. */
import { Command, InvalidArgumentError } from 'commander';
import { EnsembleManifestSchema } from '../../lib/schema';
import { context, parseJson, print, readLocal } from '../context';
import { ProblemError } from '../errors';
import {
  ArchiveStateSchema,
  EnsembleListSchema,
  ManifestDiffSchema,
  PointerMoveSchema,
  VersionListSchema,
} from '../lifecycle';
import { describeDiff, describeManifest, describeVersions } from './ensembles-format';

export const versionArg = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a version is a positive integer');
  return n;
};

const path = (name: string, rest = '') => `/v1/ensembles/${encodeURIComponent(name)}${rest}`;

export function ensemblesCommand(): Command {
  const ensembles = new Command('ensembles').description('ensembles and their manifest versions');

  ensembles
    .command('list')
    .description('ensembles and their current versions')
    .option('--archived', 'include archived ensembles')
    .action(async (o: { archived?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const list = await ctx.client.get(EnsembleListSchema, '/v1/ensembles', o.archived ? { archived: true } : {});
      print(ctx, list, () =>
        list.ensembles.length === 0
          ? '(no ensembles)'
          : list.ensembles.map((e) => `${e.name.padEnd(24)} v${e.version}${e.archived ? '  (archived)' : ''}`),
      );
    });

  ensembles
    .command('get')
    .description('the current (or a given) manifest')
    .argument('<name>')
    .option('-v, --version <n>', 'a published version instead of the current one', versionArg)
    .action(async (name: string, o: { version?: number }, cmd: Command) => {
      const ctx = context(cmd);
      const manifest = await ctx.client.get(
        EnsembleManifestSchema,
        path(name),
        o.version ? { version: o.version } : {},
      );
      print(ctx, manifest, () => describeManifest(manifest));
    });

  ensembles
    .command('publish')
    .description("publish a manifest file as the ensemble's next version")
    .argument('<manifest>', 'a manifest .json file')
    .option('--bump', "publish as latest + 1 whatever the file's version says")
    .action(async (file: string, o: { bump?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const text = new TextDecoder().decode(await readLocal(file));
      const manifest = parseJson(text, EnsembleManifestSchema, file);
      const raw = JSON.parse(text) as Record<string, unknown>;
      if (o.bump) raw.version = (await latestVersion(ctx.client, manifest.name)) + 1;
      const moved = await ctx.client.json(PointerMoveSchema, 'PUT', path(manifest.name), { json: raw });
      print(ctx, moved, () => `${moved.name}: published v${moved.version} (was v${moved.previous})`);
    });

  ensembles
    .command('rollback')
    .description('point the ensemble at an earlier version')
    .argument('<name>')
    .argument('<version>', 'the version to serve', versionArg)
    .action(async (name: string, version: number, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const moved = await ctx.client.json(PointerMoveSchema, 'POST', path(name, '/rollback'), { json: { version } });
      print(ctx, moved, () => `${moved.name}: now v${moved.version} (was v${moved.previous})`);
    });

  for (const [verb, what] of [
    ['archive', 'stop serving the ensemble (versions and models are kept)'],
    ['restore', 'serve an archived ensemble again'],
  ] as const) {
    ensembles
      .command(verb)
      .description(what)
      .argument('<name>')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const ctx = context(cmd);
        const state = await ctx.client.json(ArchiveStateSchema, 'POST', path(name, `/${verb}`));
        print(ctx, state, () => `${state.name}: ${state.archived ? 'archived' : 'serving'} at v${state.version}`);
      });
  }

  ensembles
    .command('versions')
    .description('every published version with who published it, when, and from which job')
    .argument('<name>')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const versions = await ctx.client.get(VersionListSchema, path(name, '/versions'));
      print(ctx, versions, () => describeVersions(versions));
    });

  ensembles
    .command('diff')
    .description('what changed between two versions: members, weights, decision, metrics')
    .argument('<name>')
    .argument('<from>', 'the older version', versionArg)
    .argument('<to>', 'the newer version', versionArg)
    .action(async (name: string, from: number, to: number, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const diff = await ctx.client.get(ManifestDiffSchema, path(name, '/diff'), { from, to });
      print(ctx, diff, () => describeDiff(diff));
    });

  return ensembles;
}

/** The latest published version (0 when the ensemble does not exist yet). */
async function latestVersion(client: ReturnType<typeof context>['client'], name: string): Promise<number> {
  try {
    const res = await client.request('GET', path(name));
    return Number(res.headers.get('x-chorus-latest-version') ?? (await res.json()).version);
  } catch (e) {
    // only a name never published starts at 0; an archived one (404 ensemble_archived) is an error
    if (e instanceof ProblemError && e.code === 'not_found') return 0;
    throw e;
  }
}
