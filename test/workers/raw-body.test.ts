/**
 * Predict with a raw e-mail (`Content-Type: message/rfc822`, bytes as sent): the MIME parser decodes
 * the message's own charsets, so an 8-bit ISO-8859-1 or Shift_JIS message answers exactly as the
 * same text sent as UTF-8 in JSON.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, parseEmail } from '../../lib/features';
import { fastDecoders } from '../../lib/features/linear-mime';
import { batchOf, deliver, dropFile, filesOf, joinBytes, testDeps } from './batch-kit';
import { ADMIN, call, postJson, publishTorchMlp, seedZoo } from './zoo';

beforeAll(async () => {
  await seedZoo();
  await publishTorchMlp('tensors');
});

type Answer = {
  predictions: { label: string; probabilities: Record<string, number>; members: Record<string, unknown> }[];
  ran: string[];
};

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

/** The header block; non-ASCII header text travels as RFC 2047 encoded words, as mailers send it. */
const head = (charset: string, from: string, subject: string): string =>
  `From: ${from} <promo@example.org>\r\nTo: you@example.com\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n` +
  `Content-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`;

const FRENCH =
  "Bonjour Hélène, répondez vite : un café offert et 5000 euros à gagner dès aujourd'hui ! Cliquez ici http://gagner.example.fr/offre\r\n";
const JAPANESE =
  '無料で稼げる副業のご案内です。今すぐ登録してください。お金 現金 当選 http://kasegu.example.jp/touroku\r\n';
/** JAPANESE in Shift_JIS (Python's codec), so the test does not rest on the runtime's own encoder. */
const JAPANESE_SJIS = hex(
  '96b397bf82c589d282b082e9959b8bc682cc82b288c493e082c582b781428da182b782ae936f985e82b582c482ad82be82b382a2814282a88be0208cbb8be0209396914920687474703a2f2f6b61736567752e6578616d706c652e6a702f746f75726f6b750d0a',
);

const cases = [
  {
    charset: 'ISO-8859-1',
    raw: concatBytes([
      latin1(
        head('ISO-8859-1', '=?ISO-8859-1?Q?Soci=E9t=E9_G=E9n=E9rale?=', '=?ISO-8859-1?Q?Caf=E9_offert_=E0_gagner?='),
      ),
      latin1(FRENCH),
    ]),
    utf8: head('UTF-8', 'Société Générale', 'Café offert à gagner') + FRENCH,
    marker: 'café offert',
  },
  {
    charset: 'Shift_JIS',
    raw: concatBytes([
      latin1(head('Shift_JIS', '=?Shift_JIS?B?jlKTY5G+mFk=?=', '=?Shift_JIS?B?gXmTlpFJgXqVm4vGgsWMjo77lVOWnIl+?=')),
      JAPANESE_SJIS,
    ]),
    utf8: `${head('UTF-8', '山田太郎', '【当選】副業で月収百万円')}${JAPANESE}`,
    marker: '副業のご案内',
  },
];

const rawPredict = (
  name: string,
  body: Uint8Array,
  query = '?return_members=true',
  type = 'message/rfc822',
  headers: Record<string, string> = {},
) =>
  call(`/v1/ensembles/${name}/predict${query}`, {
    method: 'POST',
    headers: { 'content-type': type, ...headers },
    body,
  });

describe('POST /v1/ensembles/{name}/predict with a message/rfc822 body', () => {
  it.each(cases)('$charset bytes answer as the same text sent as UTF-8 JSON', async ({ raw, utf8, marker }) => {
    // the bytes really are 8-bit in their charset (not UTF-8), and the parser decodes them to the text
    expect(() => new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw)).toThrow();
    const views = await parseEmail(raw);
    expect(views.body).toContain(marker);
    expect(views).toEqual(await parseEmail(utf8));

    const fromRaw = await rawPredict('spam', raw);
    expect(fromRaw.status).toBe(200);
    const fromJson = await postJson('/v1/ensembles/spam/predict', {
      inputs: [{ message: utf8 }],
      return_members: true,
    });
    expect(fromJson.status).toBe(200);
    const a = (await fromRaw.json()) as Answer;
    const b = (await fromJson.json()) as Answer;
    expect(a.ran.length).toBeGreaterThan(0);
    expect(a.ran).toEqual(b.ran);
    expect(a.predictions[0]?.members).toEqual(b.predictions[0]?.members);
    expect(a.predictions).toEqual(b.predictions);
  });

  it("joins decoded parts without a Blob in workerd too (postal-mime's three decoders)", () => {
    expect(fastDecoders).toBe(3);
  });

  it('takes the strategy from the query and a charset parameter on the media type', async () => {
    const [first] = cases;
    if (!first) throw new Error('no case');
    const res = await rawPredict('spam', first.raw, '?strategy=soft', 'Message/RFC822; charset=binary');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { strategy: string; predictions: { members?: unknown }[] };
    expect(body.strategy).toBe('soft');
    expect(body.predictions[0]?.members).toBeUndefined();
  });

  it('refuses a raw message for an ensemble without one rfc822 field, an empty body and a bad query', async () => {
    const tensor = await rawPredict('tensors', cases[0]?.raw ?? new Uint8Array());
    expect(tensor.status).toBe(415);
    expect(((await tensor.json()) as { code: string }).code).toBe('raw_message_not_accepted');
    const empty = await rawPredict('spam', new Uint8Array());
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { code: string }).code).toBe('invalid_input');
    const strategy = await rawPredict('spam', cases[0]?.raw ?? new Uint8Array(), '?strategy=loudest');
    expect(strategy.status).toBe(400);
    expect(((await strategy.json()) as { code: string }).code).toBe('validation_failed');
    const other = await rawPredict('spam', cases[0]?.raw ?? new Uint8Array(), '', 'text/plain');
    expect(other.status).toBe(415);
    expect(((await other.json()) as { code: string }).code).toBe('unsupported_media_type');
  });

  it('applies the JSON body limit before reading: 413 by Content-Length, and for a streamed body', async () => {
    const big = new Uint8Array((1 << 20) + 1).fill(0x61);
    const declared = await rawPredict('spam', big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: string }).code).toBe('payload_too_large');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(big);
        controller.close();
      },
    });
    const streamed = await call('/v1/ensembles/spam/predict', {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822', ...ADMIN },
      body: stream,
      // @ts-expect-error: undici/workerd need duplex for a stream body; the DOM type lacks it
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
  });

  it('answers 404 not_found for an unknown ensemble', async () => {
    const res = await rawPredict('no-such-ensemble', cases[0]?.raw ?? new Uint8Array(), '', 'message/rfc822', ADMIN);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  });
});

describe('batch lines with a raw message as base64 (rfc822_base64)', () => {
  const base64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));

  it('answer as the same text in a JSON input; malformed lines go to errors with their code', async () => {
    const lines = cases.flatMap((c) => [
      JSON.stringify({ id: `${c.charset}-raw`, rfc822_base64: base64(c.raw) }),
      JSON.stringify({ id: `${c.charset}-json`, input: { message: c.utf8 } }),
    ]);
    lines.push(JSON.stringify({ id: 'not-base64', rfc822_base64: 'é!' }));
    lines.push(
      JSON.stringify({ id: 'both', input: { message: 'x' }, rfc822_base64: base64(cases[0]?.raw ?? new Uint8Array()) }),
    );
    const event = await dropFile('raw-lines', joinBytes(lines), 'spam');
    await deliver(testDeps().deps, [event]);
    const { resultRows, errorRows } = await filesOf(await batchOf(event));
    const byId = new Map(resultRows.map((r: { id: string }) => [r.id, r]));
    for (const c of cases) {
      const raw = byId.get(`${c.charset}-raw`) as { probabilities: unknown; label: string } | undefined;
      const json = byId.get(`${c.charset}-json`) as { probabilities: unknown; label: string } | undefined;
      expect(raw, c.charset).toBeDefined();
      expect(raw?.probabilities).toEqual(json?.probabilities);
      expect(raw?.label).toEqual(json?.label);
    }
    expect(errorRows.map((e: { id: string; code: string }) => [e.id, e.code])).toEqual([
      ['not-base64', 'schema_mismatch'],
      ['both', 'schema_mismatch'],
    ]);
  });

  it('is an invalid_input line for an ensemble without one rfc822 field', async () => {
    const event = await dropFile(
      'raw-tensor',
      joinBytes([JSON.stringify({ id: 't', rfc822_base64: 'AAAA' })]),
      'tensors',
    );
    await deliver(testDeps().deps, [event]);
    const { errorRows } = await filesOf(await batchOf(event));
    expect(errorRows.map((e: { id: string; code: string }) => [e.id, e.code])).toEqual([['t', 'invalid_input']]);
  });
});
