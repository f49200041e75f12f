/** Reads bytes [start, end) of the incoming object. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

export interface ByteRange {
  start: number;
  end: number;
}

const NEWLINE = 0x0a;

/** The first line start at or after `from`: just past the first LF at `from - 1` or later. */
async function lineStartFrom(from: number, size: number, read: ReadRange, window: number): Promise<number> {
  let at = from - 1;
  while (at < size) {
    const end = Math.min(size, at + window);
    const bytes = await read(at, end);
    const i = bytes.indexOf(NEWLINE);
    if (i >= 0) return at + i + 1;
    at = end;
  }
  return size;
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
