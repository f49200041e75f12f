/**
 * Exit codes scripts can rely on (README "The chorus CLI" lists them), and the errors that carry
 * them. Every failure leaves the CLI through `describe` as one line on stderr.
 */
import { ZodError } from 'zod';

export const EXIT = Object.freeze({
  /** the command did what it was asked */
  ok: 0,
  /** bad arguments, or a local file that is missing or unreadable as what it should be */
  usage: 1,
  /** the server refused the request: an HTTP 4xx problem (the line names its `code`) */
  problem: 2,
  /** the server failed (5xx), could not be reached, or answered something unexpected */
  server: 3,
  /** a followed job or batch failed */
  failed: 4,
  /** a followed job ran but its gate kept the candidate from being published */
  gated: 5,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A local mistake: arguments, or a file that cannot be read as what the command needs. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** An RFC 9457 problem+json answer (or a non-JSON error answer, reported with code `http_<status>`). */
export class ProblemError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly where: string,
    readonly body: unknown,
  ) {
    super(`${status} ${code}: ${detail} (${where})`, status < 500 ? EXIT.problem : EXIT.server);
    this.name = 'ProblemError';
  }
}

/** Nothing answered, or the answer was not what the API documents. */
export class ServerError extends CliError {
  constructor(message: string) {
    super(message, EXIT.server);
    this.name = 'ServerError';
  }
}

/** The one line printed for a failure, and the exit code that goes with it. */
export function describe(e: unknown): { line: string; exitCode: ExitCode } {
  if (e instanceof CliError) return { line: e.message, exitCode: e.exitCode };
  if (e instanceof ZodError) {
    const first = e.issues[0];
    const at = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
    return { line: `unexpected answer from the server: ${at}`, exitCode: EXIT.server };
  }
  return { line: `internal error: ${e instanceof Error ? e.message : String(e)}`, exitCode: EXIT.server };
}
