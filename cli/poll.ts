/**
 * Polling for `follow`: a status read that fails on the server's side (5xx, a dropped connection)
 * is retried a few times in a row before the follow gives up, since a job or batch runs on
 * regardless of one failed read; a 4xx (unknown id, bad key) ends the follow at once.
 */
import { CliError, EXIT } from './errors';

export const POLL_RETRIES = 5;

export async function poll<T>(
  read: () => Promise<T>,
  ended: (value: T) => boolean,
  onValue: (value: T) => void,
  intervalMs: number,
): Promise<T> {
  let failures = 0;
  for (;;) {
    let value: T;
    try {
      value = await read();
      failures = 0;
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.server || ++failures > POLL_RETRIES) throw e;
      process.stderr.write(`(retrying ${failures}/${POLL_RETRIES}: ${e.message})\n`);
      await sleep(intervalMs);
      continue;
    }
    onValue(value);
    if (ended(value)) return value;
    await sleep(intervalMs);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
