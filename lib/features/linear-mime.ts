import PostalMime, { type Email, type PostalMimeOptions } from 'postal-mime';
import { htmlToText } from './text';

type TextEntryItem = { type: 'text'; value: string } | { type: 'subMessage'; value: Email };
type TextEntry = Partial<Record<'plain' | 'html', TextEntryItem[]>>;

/**
 * What postal-mime 4 keeps between collecting the parts and joining them into `text` and
 * `html` (the fields `renderTextContent` reads; they are not in its published types).
 */
interface CollectedText {
  textMap: Map<unknown, TextEntry>;
  textTypes: Set<'plain' | 'html'>;
}

function collected(parser: PostalMime): CollectedText | null {
  const state = parser as unknown as Partial<CollectedText>;
  return state.textMap instanceof Map && state.textTypes instanceof Set ? (state as CollectedText) : null;
}

/**
 * postal-mime with our own HTML-to-text reduction. When a message has both a plain and an HTML
 * part that are not alternatives of each other (multipart/mixed), postal-mime builds `text` by
 * converting the HTML part with its own converter, whose cost per character grows with the
 * part (17× the time for 10× the bytes on hostile HTML). Here those parts are given a plain
 * rendering from `htmlToText` (lib/features/text.ts, linear) before postal-mime joins the
 * parts, so it never converts anything itself; everything else is postal-mime's own behaviour.
 * If a future postal-mime keeps its state differently, `collected` finds nothing and the
 * library's own rendering runs (test/unit/features-hostile.test.ts notices the difference).
 */
class LinearPostalMime extends PostalMime {
  renderTextContent(): void {
    const state = collected(this);
    if (state?.textTypes.has('plain')) {
      for (const entry of state.textMap.values()) {
        if (entry.plain || !entry.html) continue;
        entry.plain = entry.html.map((item) =>
          item.type === 'text' ? { type: 'text', value: htmlToText(item.value) } : item,
        );
      }
    }
    baseRender.call(this);
  }
}

/** postal-mime's own joining step (internal, so not in its types; checked when this module loads). */
const baseRender = (PostalMime.prototype as unknown as { renderTextContent: (this: PostalMime) => void })
  .renderTextContent;
if (typeof baseRender !== 'function') throw new Error('postal-mime no longer has renderTextContent');

type Chunk = Uint8Array | ArrayBuffer | string;
interface BufferingDecoder {
  chunks: Chunk[];
  finalize(): Promise<ArrayBuffer>;
}

const encoder = new TextEncoder();

/** The parts' bytes, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** What `new Blob(chunks).arrayBuffer()` answers (strings as UTF-8), without a Blob per part. */
export function joinChunks(chunks: readonly Chunk[]): ArrayBuffer {
  const parts = chunks.map((c) =>
    typeof c === 'string' ? encoder.encode(c) : c instanceof Uint8Array ? c : new Uint8Array(c),
  );
  return concatBytes(parts).buffer as ArrayBuffer;
}

/**
 * postal-mime's body decoders (pass-through, base64, quoted-printable) keep a part's lines as
 * chunks and join them at the end through a Blob: in Node a Blob per part and its async read were
 * a fifth of a whole prediction (CPU profile of the spam zoo). Their `finalize` is replaced by the
 * same flush and a plain copy — same bytes — but only where the library's own `finalize` is still
 * exactly "flush, then Blob of the chunks" (checked on its source when this module loads); any
 * other version keeps its own. `fastDecoders` says how many were replaced (a test watches it).
 */
function replaceBlobJoins(): number {
  const node = (
    new PostalMime() as unknown as { root: { setupContentDecoder(e: string): void; contentDecoder: object } }
  ).root;
  let replaced = 0;
  for (const encoding of ['7bit', 'base64', 'quoted-printable']) {
    node.setupContentDecoder(encoding);
    const proto = Object.getPrototypeOf(node.contentDecoder) as Partial<BufferingDecoder> & Record<string, unknown>;
    const own = proto.finalize;
    const source = typeof own === 'function' ? Function.prototype.toString.call(own) : '';
    const shape =
      /^finalize\(\)\s*\{\s*(?:this\.(\w+)\(\);)?[\s\S]*?return\s[^;]*?\(new Blob\(this\.chunks,[^)]*\)\);\s*\}$/.exec(
        source,
      );
    if (!shape) continue;
    const flush = shape[1];
    if (flush !== undefined && typeof proto[flush] !== 'function') continue;
    proto.finalize = async function (this: BufferingDecoder & Record<string, unknown>): Promise<ArrayBuffer> {
      if (flush !== undefined) (this[flush] as () => void)();
      return joinChunks(this.chunks);
    };
    replaced++;
  }
  return replaced;
}

export const fastDecoders = replaceBlobJoins();

export function parseMimeLinear(bytes: Uint8Array, options: PostalMimeOptions): Promise<Email> {
  return new LinearPostalMime(options).parse(bytes);
}
