/** Runs one `chorus` invocation and answers its exit code (EXIT in errors.ts). */
import { CommanderError } from 'commander';
import { describe, EXIT, type ExitCode } from './errors';
import { buildProgram } from './program';

export async function run(argv: string[]): Promise<ExitCode> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander printed its message already; help and --version end here too, successfully
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { line, exitCode } = describe(e);
    process.stderr.write(`chorus: ${line}\n`);
    return exitCode;
  }
}
