/**
 * Text normalisation and tokenisation shared by training and serving. NFKC folds compatibility
 * forms (full-width letters, ligatures) so the same word hashes the same way.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** Words, numbers, dotted names (domains, prices) and a few spam-typical symbols. */
const TOKEN = /[\p{L}\p{N}]+(?:[.:'-][\p{L}\p{N}]+)*|[$!€£%]/gu;
export const MAX_TOKEN_CHARS = 40;

export function wordTokens(normalized: string, maxTokens: number): string[] {
  const out: string[] = [];
  for (const match of normalized.matchAll(TOKEN)) {
    if (out.length >= maxTokens) break;
    const t = match[0];
    out.push(t.length > MAX_TOKEN_CHARS ? t.slice(0, MAX_TOKEN_CHARS) : t);
  }
  return out;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Plain text of an HTML body: drops style/script/comments and tags, decodes common entities. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/tr>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code =
          name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s"'<>()]+/giu;

/** URLs found in text and href attributes, in order of appearance. */
export function extractUrls(text: string, limit = 200): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(URL_RE)) {
    if (out.length >= limit) break;
    out.push(m[0]);
  }
  return out;
}
