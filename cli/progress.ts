/**
 * Progress for uploads, jobs and batches: a cli-progress bar on a terminal; on a pipe or a file
 * (scripts, CI, tests) one line per change instead, so logs stay readable. Always on stderr:
 * stdout carries only the command's answer (`--json` stays parseable).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `value` of `total`, with a short status text (phase, step) */
  update(value: number, total: number, status: string): void;
  stop(): void;
}

export function progress(label: string, options: { unit?: string } = {}): Progress {
  const stream = process.stderr;
  if (!stream.isTTY) {
    let last = '';
    return {
      update(value, total, status) {
        const line = `${label} ${value}/${total}${options.unit ? ` ${options.unit}` : ''} ${status}`;
        if (line !== last) stream.write(`${line}\n`);
        last = line;
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% {value}/{total}${options.unit ? ` ${options.unit}` : ''} {status}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(value, total, status) {
      if (!started) bar.start(total, value, { status });
      started = true;
      bar.setTotal(total);
      bar.update(value, { status });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** A body that reports how many of `bytes` fetch has pulled (the upload as it goes). */
export function trackedBody(data: Uint8Array, onProgress: (sent: number) => void): ReadableStream<Uint8Array> {
  const chunk = 256 * 1024;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= data.length) {
        controller.close();
        return;
      }
      const next = data.subarray(sent, Math.min(sent + chunk, data.length));
      sent += next.length;
      controller.enqueue(next);
      onProgress(sent);
    },
  });
}
