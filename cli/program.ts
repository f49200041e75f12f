/** The `chorus` command tree: global options, one sub-command per API resource. */
import { Command, Option } from 'commander';
import { batchesCommand } from './commands/batches';
import { ensemblesCommand } from './commands/ensembles';
import { jobsCommand } from './commands/jobs';
import { keysCommand, usageCommand } from './commands/keys';
import { modelsCommand } from './commands/models';
import { predictCommand } from './commands/predict';
import { DEFAULT_URL } from './context';

const EXIT_HELP = `
Exit codes: 0 ok · 1 usage or unreadable local file · 2 the server refused (4xx problem, its code printed)
            3 server error (5xx), unreachable or unexpected answer · 4 job/batch failed · 5 job gated`;

export function buildProgram(): Command {
  const program = new Command('chorus')
    .description('Chorus from the command line: models, ensembles, predict, jobs, batches, keys, usage')
    .addOption(new Option('--url <url>', `API base URL (default ${DEFAULT_URL})`).env('CHORUS_URL'))
    .addOption(new Option('--key <key>', 'API key (chorus_…) or admin token').env('CHORUS_KEY'))
    .option('--json', 'print answers as JSON (one document on stdout) for pipelines')
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError()
    .exitOverride();
  for (const sub of [
    modelsCommand(),
    ensemblesCommand(),
    predictCommand(),
    jobsCommand(),
    batchesCommand(),
    keysCommand(),
    usageCommand(),
  ]) {
    program.addCommand(sub);
  }
  // sub-commands inherit exitOverride so a usage error comes back to run() instead of exiting
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}
