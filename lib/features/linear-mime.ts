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

export function parseMimeLinear(bytes: Uint8Array, options: PostalMimeOptions): Promise<Email> {
  return new LinearPostalMime(options).parse(bytes);
}
