/**
 * Robustness slices: every message of the scored rows (validation and test) rewritten the way
 * mail from elsewhere differs from the SpamAssassin collection — no outside data. Validation
 * slices take part in choosing the operating point and the default strategy; test slices are
 * only reported.
 */
import type { EvalDataset } from '../../lib/train';
import type { CorpusMessage } from '../corpus';

export const SLICES = {
  'headers-min': 'headers reduced to From/To/Subject/Date (MIME structure kept so the body still decodes)',
  'first-sentence': 'plain-text body cut to its first sentence (at most 20 words)',
  'html-only': 'the body text converted to an HTML-only message (no text/plain part)',
  'no-urls': 'plain-text body with every URL removed',
  'empty-body': 'From/To/Subject/Date and an empty body',
  'attachments-only': 'From/To/Subject/Date and a PDF attachment, no text part',
} as const;

export type SliceName = keyof typeof SLICES;

const KEEP = new Set(['from', 'to', 'subject', 'date']);
const MIME = new Set(['mime-version', 'content-type', 'content-transfer-encoding']);

interface Parts {
  /** unfolded header fields as written, name lower-cased */
  fields: { name: string; line: string }[];
  body: string;
}

function split(raw: string): Parts {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const fields: { name: string; line: string }[] = [];
  for (const line of head.split(/\r?\n/)) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) last.line += `\n${line}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push({ name: line.slice(0, colon).trim().toLowerCase(), line });
    }
  }
  return { fields, body };
}

const headersOf = (p: Parts, keep: (name: string) => boolean): string =>
  p.fields
    .filter((f) => keep(f.name))
    .map((f) => f.line)
    .join('\n');

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const URL_RE = /https?:\/\/\S+|www\.\S+/gi;

/** The first sentence of a text (up to . ! ? followed by a space, or the end), at most 20 words. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = /[.!?](?= |$)/.exec(flat);
  const sentence = end ? flat.slice(0, end.index + 1) : flat;
  return sentence.split(' ').slice(0, 20).join(' ');
}

const plain = (headers: string, body: string): string =>
  `${headers}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${body}\n`;

/** One message rewritten for a slice. */
export function sliceMessage(slice: SliceName, m: Pick<CorpusMessage, 'raw' | 'views'>): string {
  const p = split(m.raw);
  const basic = headersOf(p, (n) => KEEP.has(n));
  const body = m.views.body;
  switch (slice) {
    case 'headers-min':
      return `${headersOf(p, (n) => KEEP.has(n) || MIME.has(n))}\n\n${p.body}`;
    case 'first-sentence':
      return plain(basic, firstSentence(body));
    case 'html-only': {
      const paragraphs = body
        .split(/\n\s*\n/)
        .map((para) => para.trim())
        .filter((para) => para.length > 0)
        .map((para) => `<p>${escapeHtml(para).replace(/\n/g, '<br>\n')}</p>`);
      return `${basic}\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n<html><body>\n${paragraphs.join('\n')}\n</body></html>\n`;
    }
    case 'no-urls':
      return plain(basic, body.replace(URL_RE, ''));
    case 'empty-body':
      return plain(basic, '');
    case 'attachments-only': {
      const bytes = new TextEncoder().encode(`%PDF-1.4\n${body.slice(0, 2000)}\n%%EOF\n`);
      const b64 = Buffer.from(bytes).toString('base64').replace(/.{76}/g, '$&\n');
      const boundary = 'chorus-slice-boundary';
      return `${basic}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${boundary}"\n\n--${boundary}\nContent-Type: application/pdf; name="document.pdf"\nContent-Disposition: attachment; filename="document.pdf"\nContent-Transfer-Encoding: base64\n\n${b64}\n--${boundary}--\n`;
    }
  }
}

/** The corpus rows as the engine reads them. */
export const rowInputs = (corpus: readonly CorpusMessage[], rows: readonly number[]) =>
  rows.map((r) => ({ message: (corpus[r] as CorpusMessage).raw }));

/** Each slice of the given corpus rows, in their order; `tag` names the rows in the dataset hash. */
export function sliceDatasets(
  corpus: readonly CorpusMessage[],
  rows: readonly number[],
  tag: string,
): { name: SliceName; dataset: EvalDataset }[] {
  return (Object.keys(SLICES) as SliceName[]).map((name) => ({
    name,
    dataset: {
      hash: `zoo-rows#${tag}#${name}-v1`,
      inputs: rows.map((r) => ({ message: sliceMessage(name, corpus[r] as CorpusMessage) })),
    },
  }));
}
