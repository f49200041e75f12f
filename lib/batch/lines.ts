import { type BatchLine, type BatchLineErrorCode, BatchLineSchema, issuesText } from '../schema';

/** How much of a bad line the errors file keeps, in characters. */
export const RAW_KEEP_CHARS = 200;
/** How long an errors record's message may be, in characters. */
const MESSAGE_KEEP_CHARS = 1000;

/** One line of an incoming file: what it parsed to, or why it goes to the errors file. */
export type ParsedLine =
  | { kind: 'ok'; line: BatchLine; raw: string; rawTruncated: boolean }
  | { kind: 'error'; code: BatchLineErrorCode; message: string; id?: string; raw: string; rawTruncated: boolean };

const NEWLINE = 0x0a;
const CR = 0x0d;
// ignoreBOM false: a byte-order mark opening the file is dropped, not read as part of the first line.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/**
 * The lines of a byte range that starts at a line start, one at a time (a part of millions of
 * short lines is never held as millions of views): split on LF, a trailing CR dropped, and the
 * empty tail after a final LF is not a line (a file ending in a newline has no extra blank).
 */
export function* eachLine(bytes: Uint8Array): Generator<Uint8Array> {
  let start = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, start)) {
    yield trimCr(bytes.subarray(start, i));
    start = i + 1;
  }
  if (start < bytes.length) yield trimCr(bytes.subarray(start));
}

/** eachLine, as an array. */
export const splitLines = (bytes: Uint8Array): Uint8Array[] => [...eachLine(bytes)];

const trimCr = (b: Uint8Array): Uint8Array => (b.length > 0 && b[b.length - 1] === CR ? b.subarray(0, -1) : b);

/** The start of a line as text for the errors file: invalid bytes become U+FFFD, cut to RAW_KEEP_CHARS. */
export function rawOf(bytes: Uint8Array): { raw: string; rawTruncated: boolean } {
  // 4 bytes per character at most, so this prefix always holds RAW_KEEP_CHARS characters.
  const text = lenientUtf8.decode(bytes.subarray(0, RAW_KEEP_CHARS * 4));
  const chars = Array.from(text);
  const rawTruncated = chars.length > RAW_KEEP_CHARS || bytes.length > RAW_KEEP_CHARS * 4;
  return { raw: chars.slice(0, RAW_KEEP_CHARS).join(''), rawTruncated };
}

function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
}

/**
 * Classifies one line: over-long, invalid UTF-8, blank, invalid JSON and schema failures each get
 * their own code, checked in that order (the cheapest test that decides comes first).
 */
export function parseLine(bytes: Uint8Array, maxLineBytes: number): ParsedLine {
  const { raw, rawTruncated } = rawOf(bytes);
  const fail = (code: BatchLineErrorCode, message: string, id?: string): ParsedLine => ({
    kind: 'error',
    code,
    // bounded like raw: an errors record never grows with the line
    message: message.length > MESSAGE_KEEP_CHARS ? `${message.slice(0, MESSAGE_KEEP_CHARS)}…` : message,
    ...(id === undefined ? {} : { id }),
    raw,
    rawTruncated,
  });
  // a part cuts a longer line short (plan.ts readBoundedLines): its length is only "more than"
  if (bytes.length > maxLineBytes) return fail('line_too_long', `more than ${maxLineBytes} bytes`);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return fail('invalid_utf8', 'the line is not valid UTF-8');
  }
  if (text.trim() === '') return fail('blank_line', 'blank line');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail('invalid_json', e instanceof Error ? e.message : 'not JSON');
  }
  const parsed = BatchLineSchema.safeParse(value);
  if (!parsed.success) {
    return fail('schema_mismatch', issuesText(parsed.error.issues, '(line)'), idOf(value));
  }
  return { kind: 'ok', line: parsed.data, raw, rawTruncated };
}
