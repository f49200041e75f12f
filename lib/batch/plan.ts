import { RAW_KEEP_CHARS } from './lines';

/** Reads bytes [start, end) of the incoming object. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

export interface ByteRange {
  start: number;
  end: number;
}

const NEWLINE = 0x0a;

/** The largest read a search for a line start makes. */
const MAX_WINDOW = 8 << 20;

/**
 * The first line start at or after `from`: just past the first LF at `from - 1` or later. The
 * window doubles per read (up to MAX_WINDOW), so a line of 95 MiB costs a dozen reads, not 1,500
 * (each read is a subrequest, and a Worker has a limited number per invocation).
 */
async function lineStartFrom(from: number, size: number, read: ReadRange, window: number): Promise<number> {
  let at = from - 1;
  for (let w = window; at < size; w = Math.min(MAX_WINDOW, w * 2)) {
    const end = Math.min(size, at + w);
    const bytes = await read(at, end);
    const i = bytes.indexOf(NEWLINE);
    if (i >= 0) return at + i + 1;
    at = end;
  }
  return size;
}

/**
 * Bytes [start, end) (whole lines) as a part reads them. A range up to `window` bytes (a part
 * and the line that crosses its end) is read as it is. A longer one holds an over-long line: it
 * is read a window at a time into one growing buffer, every line longer than `maxLineBytes`
 * cut short to its start (enough to stay too long after a trailing CR is dropped, and all of
 * what rawOf shows), so a file without newlines costs a window and that start, not the line.
 */
export async function readBoundedLines(
  read: ReadRange,
  start: number,
  end: number,
  maxLineBytes: number,
  window = 4 << 20,
): Promise<Uint8Array> {
  if (end - start <= window) return read(start, end);
  const keep = Math.max(maxLineBytes, RAW_KEEP_CHARS * 4) + 2;
  let out = new Uint8Array(Math.min(end - start, 2 * window));
  let o = 0;
  const append = (bytes: Uint8Array) => {
    if (o + bytes.length > out.length) {
      const grown = new Uint8Array(Math.max(o + bytes.length, 2 * out.length));
      grown.set(out.subarray(0, o));
      out = grown;
    }
    out.set(bytes, o);
    o += bytes.length;
  };
  let lineBytes = 0; // bytes of the current line seen so far, kept or not
  for (let at = start; at < end; at += window) {
    const bytes = await read(at, Math.min(end, at + window));
    for (let from = 0; from < bytes.length; ) {
      const lf = bytes.indexOf(NEWLINE, from);
      const stop = lf === -1 ? bytes.length : lf + 1;
      const room = Math.max(0, keep - lineBytes);
      append(bytes.subarray(from, Math.min(stop, from + room)));
      lineBytes = lf === -1 ? lineBytes + (stop - from) : 0;
      // a line cut before its LF ends here
      if (lf !== -1 && stop - from > room) append(LF);
      from = stop;
    }
  }
  return out.subarray(0, o);
}

const LF = Uint8Array.of(NEWLINE);

/**
 * Cuts an object of `size` bytes into ranges of about `partBytes` whose ends fall on line
 * boundaries, reading only a small window around each nominal cut. A line longer than a part
 * stays whole in one range. An empty object is one empty range, so every batch has a part.
 */
export async function planParts(
  size: number,
  partBytes: number,
  read: ReadRange,
  window = 64 * 1024,
): Promise<ByteRange[]> {
  if (!(partBytes > 0)) throw new RangeError('partBytes must be positive');
  const ranges: ByteRange[] = [];
  let start = 0;
  for (let nominal = partBytes; nominal < size; nominal += partBytes) {
    if (nominal <= start) continue;
    const cut = await lineStartFrom(nominal, size, read, window);
    if (cut >= size) break;
    ranges.push({ start, end: cut });
    start = cut;
  }
  ranges.push({ start, end: size });
  return ranges;
}
