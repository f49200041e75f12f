import type { Email } from 'postal-mime';
import { ChorusError } from '../errors';
import type { EmailView } from '../schema';
import { parseMimeLinear } from './linear-mime';
import { extractUrls, htmlToText } from './text';

/** The parts of an e-mail that featurizers look at. */
export type EmailViews = Record<EmailView, string>;

/**
 * Caps on what `parseEmail` reads, so that the work from raw message to features is bounded
 * and linear in the input, whatever the input. A message beyond a structural cap (`maxDepth`,
 * `maxParts`, `maxHeaders`, `maxHeaderBytes`, `maxLines`) is rejected with
 * `ChorusError('invalid_input', …, { details: { limit, max } })`, `limit` being the key below.
 * The others cut instead: a longer view, body or URL is truncated, further URLs are not read,
 * deeper forwarded messages stay attachments.
 *
 * The values sit well above the SpamAssassin corpus the zoo is built from (MIME depth 2, 29
 * lines starting with `--`, 126 header fields, 15 KB of message headers, 6,342 lines, 195 K
 * characters of text, 82 K of HTML, views up to 203 K, URLs up to 637 characters), which
 * therefore parses exactly as it did before the caps existed.
 */
export const EMAIL_LIMITS = Object.freeze({
  /** MIME multipart nesting depth (postal-mime `maxNestingDepth`, per parsed message). */
  maxDepth: 32,
  /**
   * Inline `message/rfc822` parts are parsed as forwarded messages this many levels deep;
   * deeper ones are kept as attachments (postal-mime `maxRfc822NestingDepth`).
   */
  maxMessageDepth: 1,
  /**
   * MIME parts. Counted from above, before parsing, as lines that begin with `--` (every
   * delimiter line does), in the message and in the forwarded messages it inlines.
   */
  maxParts: 1000,
  /** Header fields of the message and of the forwarded messages it inlines, together. */
  maxHeaders: 1000,
  /** Header bytes of all parts together (postal-mime `maxHeadersSize`, per parsed message). */
  maxHeaderBytes: 64 * 1024,
  /**
   * Lines, including those of inlined forwarded messages. postal-mime handles every line on its
   * own (a chunk kept per body line, per-line parser state), so 1 MiB of one-character lines costs
   * far more than 1 MiB of long ones. 20,000 lines still admit any 1 MB message whose lines
   * average 50 characters or more (base64 is wrapped at 76).
   */
  maxLines: 20_000,
  /** Characters of the plain-text body read (for the body view and for URLs). */
  maxTextChars: 512 * 1024,
  /** Characters of the HTML body scanned (reduced to text, searched for URLs). */
  maxHtmlChars: 512 * 1024,
  /** Characters of each view; a longer view is truncated. */
  maxViewChars: 256 * 1024,
  /** URLs read into the `urls` view. */
  maxUrls: 200,
  /**
   * Characters of one URL that are parsed; a longer URL is cut first. WHATWG host parsing is
   * super-linear in the number of non-ASCII labels (1 MiB of `éa.` takes ~90 s in Node).
   */
  maxUrlChars: 2048,
});

export type EmailLimit = keyof typeof EMAIL_LIMITS;

function limitError(limit: EmailLimit, what: string, cause?: unknown): ChorusError {
  const max = EMAIL_LIMITS[limit];
  return new ChorusError('invalid_input', `e-mail has ${what} (at most ${max})`, {
    details: { limit, max },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Prefix of at most `max` UTF-16 units that does not end inside a surrogate pair. */
function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const c = s.charCodeAt(max - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

interface StructureCount {
  lines: number;
  parts: number;
  headers: number;
}

/**
 * Counts lines, candidate part delimiters and the header fields of one message, line by line
 * as postal-mime reads it (a line ends at LF and loses its trailing CRs; the header block ends
 * at the first empty line; a line starting with SP or HTAB continues the field above), and
 * throws as soon as a cap is exceeded. One forward pass; the counts add up across calls. The
 * message's own header bytes are checked here too (postal-mime would reject them anyway, after
 * reading the whole line), so an oversized header fails after `maxHeaderBytes` bytes.
 */
function checkStructure(bytes: Uint8Array, count: StructureCount): void {
  let inHeader = true;
  let fields = 0;
  let headerBytes = 0;
  let pos = 0;
  while (pos < bytes.length) {
    let end = bytes.indexOf(0x0a, pos);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    if (++count.lines > EMAIL_LIMITS.maxLines) throw limitError('maxLines', 'too many lines');
    const first = bytes[pos];
    if (first === 0x2d && bytes[pos + 1] === 0x2d && ++count.parts > EMAIL_LIMITS.maxParts) {
      throw limitError('maxParts', 'too many MIME parts');
    }
    if (inHeader) {
      while (end > pos && bytes[end - 1] === 0x0d) end--;
      if (end === pos) {
        inHeader = false;
      } else {
        headerBytes += end - pos;
        if (headerBytes > EMAIL_LIMITS.maxHeaderBytes) throw limitError('maxHeaderBytes', 'too many header bytes');
        if (fields === 0 || (first !== 0x20 && first !== 0x09)) {
          fields++;
          if (++count.headers > EMAIL_LIMITS.maxHeaders) throw limitError('maxHeaders', 'too many header fields');
        }
      }
    }
    pos = next;
  }
}

async function parseMime(bytes: Uint8Array, messageDepth: number): Promise<Email> {
  try {
    return await parseMimeLinear(bytes, {
      maxNestingDepth: EMAIL_LIMITS.maxDepth,
      maxHeadersSize: EMAIL_LIMITS.maxHeaderBytes,
      maxRfc822NestingDepth: messageDepth,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    if (/nesting depth/i.test(message)) throw limitError('maxDepth', 'MIME parts nested too deep', e);
    if (/header size/i.test(message)) throw limitError('maxHeaderBytes', 'too many header bytes', e);
    throw e;
  }
}

/**
 * Parses with postal-mime within EMAIL_LIMITS. Forwarded messages (inline `message/rfc822`
 * parts) are often base64- or QP-encoded, so their structure is not visible in the raw bytes:
 * the message is first parsed without inlining them, each one found is checked like the
 * message itself, and only then is it parsed again one level deeper. A message without
 * forwarded messages (nearly all) is parsed once.
 */
async function parseBounded(raw: string | Uint8Array): Promise<Email> {
  const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  const count: StructureCount = { lines: 0, parts: 0, headers: 0 };
  checkStructure(bytes, count);
  let depth = 0;
  for (;;) {
    const mail = await parseMime(bytes, depth);
    if (depth >= EMAIL_LIMITS.maxMessageDepth) return mail;
    const nested = mail.attachments.filter((a) => a.rfc822DepthExceeded === true);
    if (nested.length === 0) return mail;
    for (const a of nested) {
      const content = a.content;
      checkStructure(typeof content === 'string' ? new TextEncoder().encode(content) : new Uint8Array(content), count);
    }
    depth++;
  }
}

/** URLs and link domains; empty when the message has no URL (a member reading it then has no evidence). */
function urlView(urls: string[]): string {
  if (urls.length === 0) return '';
  const parts: string[] = [`urlcount:${Math.min(urls.length, 20)}`];
  for (const found of urls) {
    const raw = clip(found, EMAIL_LIMITS.maxUrlChars);
    const withScheme = raw.startsWith('www.') ? `http://${raw}` : raw;
    try {
      const u = new URL(withScheme);
      const host = u.hostname.toLowerCase();
      const labels = host.split('.');
      parts.push(`host:${host}`, `tld:${labels[labels.length - 1] ?? ''}`);
      if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) parts.push('iphost');
      if (u.port) parts.push('hasport');
      for (const seg of u.pathname.split('/')) if (seg) parts.push(seg.toLowerCase());
      if (u.search) parts.push('hasquery');
    } catch {
      parts.push('badurl');
    }
  }
  return parts.join(' ');
}

/**
 * Parses an RFC 822 message with postal-mime (runs in Node and Workers alike) into views:
 * subject and sender name, body text (HTML reduced to text), and URLs/domains. Bounded
 * by EMAIL_LIMITS: a message beyond a structural cap is rejected with an `invalid_input`
 * ChorusError naming the cap, and every view is truncated to `maxViewChars`. `raw` is the message
 * as a string (UTF-8 when encoded) or its bytes as received (a `message/rfc822` body): charsets are
 * then decoded by postal-mime from the message's own Content-Type, so 8-bit ISO-8859-1 or Shift_JIS
 * arrive intact.
 */
export async function parseEmail(raw: string | Uint8Array): Promise<EmailViews> {
  const mail = await parseBounded(raw);
  const text = clip(mail.text ?? '', EMAIL_LIMITS.maxTextChars);
  const html = clip(mail.html ?? '', EMAIL_LIMITS.maxHtmlChars);
  const body = clip(/\S/.test(text) ? text : htmlToText(html), EMAIL_LIMITS.maxViewChars);
  // What the message says about itself: its subject and the sender's display name. Sender
  // domains, content types, an HTML flag, priority, attachment and recipient counts described the
  // collection and its era more than the content (the same note scored differently as plain text
  // and as HTML), and no gain on the robustness slices was measured for them, so they are not read.
  const headerTokens = [mail.subject ?? '', mail.from?.name ?? ''].map((t) => t.trim()).filter((t) => t.length > 0);
  const subjectAndHeaders = clip(headerTokens.join(' '), EMAIL_LIMITS.maxViewChars);
  const urls = clip(urlView(extractUrls(`${text}\n${html}`, EMAIL_LIMITS.maxUrls)), EMAIL_LIMITS.maxViewChars);
  return {
    'subject+headers': subjectAndHeaders,
    body,
    urls,
    all: clip(`${subjectAndHeaders}\n${urls}\n${body}`, EMAIL_LIMITS.maxViewChars),
  };
}
