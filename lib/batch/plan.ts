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
 * Bytes [start, end) (whole lines) as a part reads them, in windows of `window` bytes, with every
 * line longer than `maxLineBytes` cut to its first `maxLineBytes + 1` bytes (or the bytes rawOf
 * shows, if more): it still classifies as line_too_long with the same raw start, and a range holding a line of 95 MiB (a file without
 * newlines) costs about one part of memory instead of the whole line.
 */
export async function readBoundedLines(
  read: ReadRange,
  start: number,
  end: number,
  maxLineBytes: number,
  window = 1 << 20,
): Promise<Uint8Array> {
  if (end - start <= window) return read(start, end);
  // enough to still be too long, and all of the start an errors record shows (rawOf)
  const keep = Math.max(maxLineBytes, RAW_KEEP_CHARS * 4) + 1;
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let lineBytes = 0; // bytes of the current line seen so far, kept or not
  for (let at = start; at < end; at += window) {
    const bytes = await read(at, Math.min(end, at + window));
    let from = 0;
    while (from < bytes.length) {
      const lf = bytes.indexOf(NEWLINE, from);
      const stop = lf === -1 ? bytes.length : lf + 1;
      const room = Math.max(0, keep - lineBytes);
      const piece = bytes.subarray(from, Math.min(stop, from + room));
      if (piece.length > 0) kept.push(piece.slice());
      keptBytes += piece.length;
      if (lf === -1) {
        lineBytes += stop - from;
      } else {
        // the line was cut before its LF: end it here
        if (stop - from > room) {
          kept.push(Uint8Array.of(NEWLINE));
          keptBytes += 1;
        }
        lineBytes = 0;
      }
      from = stop;
    }
  }
  const out = new Uint8Array(keptBytes);
  let o = 0;
  for (const k of kept) {
    out.set(k, o);
    o += k.length;
  }
  return out;
}

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
