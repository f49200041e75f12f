/**
 * postal-mime's body decoders join a part's chunks with a plain copy instead of a Blob
 * (lib/features/linear-mime.ts): the same bytes, for every kind of chunk they keep, and the
 * replacement is in place for all three decoders of the installed postal-mime.
 */
import fc from 'fast-check';
import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { fastDecoders, joinChunks } from '../../lib/features/linear-mime';

const chunk = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }).map((a) => a.slice().buffer),
);

describe('joining decoded chunks', () => {
  it('answers the bytes a Blob of the same chunks answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 40 }), async (chunks) => {
        const want = new Uint8Array(await new Blob(chunks).arrayBuffer());
        expect(new Uint8Array(joinChunks(chunks))).toEqual(want);
      }),
    );
  });

  it('is used by the pass-through, base64 and quoted-printable decoders', () => {
    expect(fastDecoders).toBe(3);
  });

  it('decodes each transfer encoding to the same content', async () => {
    const text = 'héllo wörld — ünïcode\nsecond line\n';
    const bytes = new TextEncoder().encode(text);
    const b64 = Buffer.from(bytes)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n');
    const qp = 'h=C3=A9llo w=C3=B6rld =E2=80=94 =C3=BCn=C3=AFcode\r\nsecond line\r\n';
    const mail = [
      'From: a@example.com',
      'Subject: parts',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b',
      'Content-Type: application/x-qp',
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      qp,
      '--b--',
      '',
    ].join('\r\n');
    const parsed = await PostalMime.parse(mail, { attachmentEncoding: 'arraybuffer' });
    expect(parsed.text).toBe(`${text}\n`);
    const [b64Part, qpPart] = parsed.attachments.map((a) => new TextDecoder().decode(a.content as ArrayBuffer));
    expect(b64Part).toBe(text);
    expect(qpPart).toBe(`${text}\n`); // like the text part: the line break before a delimiter stays a line
  });
});
