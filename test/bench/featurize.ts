/**
 * Hostile e-mails through parseEmail + every zoo featurizer, at 100 KB and 1 MiB: the time
 * must grow linearly (1 MiB / 100 KB ≈ 10.5; `ratio` ≤ 12 passes). The classes are shared
 * with test/unit/features-hostile.test.ts, which checks their outcomes without timing.
 *
 * `npx tsx test/bench/featurize.ts` prints the table and names any class above the ratio.
 *
 * 'html+text, hostile html' once landed at 12-13: postal-mime converted an HTML part beside a
 * text part with its own converter (17x the time for 10x the bytes). lib/features/linear-mime.ts
 * now hands that part to our linear htmlToText first.
 */
import { pathToFileURL } from 'node:url';
import { EMAIL_LIMITS, featurizeText, parseEmail } from '../../lib/features';
import { ZOO } from '../../models/zoo';

export const KB100 = 100 * 1024;
export const MIB1 = 1024 * 1024;
export const MAX_LINEAR_RATIO = 12;
/**
 * 100 KB times below this are taken as this in the ratio: a rejected message costs well under
 * a millisecond at either size, where timer and GC noise decide the ratio, and a super-linear
 * blow-up would not stay that small at 1 MiB anyway.
 */
const RATIO_FLOOR_MS = 0.5;

/** `unit` repeated to exactly `n` characters. */
export function fill(unit: string, n: number): string {
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

const html = (body: string): string => `Subject: hostile\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${body}`;
const text = (body: string): string => `Subject: hostile\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`;
const HTML_HEAD = html('').length;
const TEXT_HEAD = text('').length;

function nestedMultipart(levels: number, size: number): string {
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(`Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`);
  const head = `${parts.join('')}Content-Type: text/plain\r\n\r\n`;
  return head + fill('deep text ', Math.max(0, size - head.length));
}

/** A hostile class: `make(n)` is a raw message of about n characters. */
export interface HostileClass {
  name: string;
  make: (n: number) => string;
}

export const HOSTILE_CLASSES: readonly HostileClass[] = [
  { name: 'unclosed <!--', make: (n) => html(fill('<!--', n - HTML_HEAD)) },
  { name: 'unclosed <!-- with text', make: (n) => html(fill('<!-- a ', n - HTML_HEAD)) },
  { name: 'unclosed <script', make: (n) => html(fill('<script>x ', n - HTML_HEAD)) },
  { name: 'unclosed <style', make: (n) => html(fill('<style a ', n - HTML_HEAD)) },
  {
    name: 'nested tags',
    make: (n) => html(`${fill('<div>', (n - HTML_HEAD) / 2)}deep${fill('</div>', (n - HTML_HEAD) / 2)}`),
  },
  { name: '< without >', make: (n) => html(fill('<a ', n - HTML_HEAD)) },
  { name: '</ without >', make: (n) => html(`<style>${fill('</style ', n - HTML_HEAD - 7)}`) },
  { name: 'entity runs', make: (n) => html(fill('&#x1234567890abcdef&amp', n - HTML_HEAD)) },
  { name: 'html+text, hostile html', make: hostileAlternative },
  { name: 'URL-like run', make: (n) => text(`http://${fill('a.', n - TEXT_HEAD - 7)}`) },
  { name: 'URL, non-ASCII labels', make: (n) => text(`http://${fill('éa.', n - TEXT_HEAD - 7)}`) },
  { name: 'many URLs, non-ASCII', make: (n) => text(fill(`http://${fill('éa.', 2100)} `, n - TEXT_HEAD)) },
  { name: 'www. run', make: (n) => text(fill('www.', n - TEXT_HEAD)) },
  { name: 'one long token', make: (n) => text(fill('a', n - TEXT_HEAD)) },
  { name: 'long dotted token', make: (n) => text(fill('a.', n - TEXT_HEAD)) },
  { name: 'whitespace run', make: (n) => text(`a${fill(' \u00a0\u3000', n - TEXT_HEAD - 2)}b`) },
  { name: 'combining marks', make: (n) => text(fill('e\u0301\u0323', n - TEXT_HEAD)) },
  { name: 'long lines', make: (n) => text(fill(`${fill('word ', 990)}\r\n`, n - TEXT_HEAD)) },
  { name: 'short lines', make: (n) => text(fill('x\r\n', n - TEXT_HEAD)) },
  { name: 'short lines up to the cap', make: linesAtCap },
  { name: 'deep multipart (100 levels)', make: (n) => nestedMultipart(100, n) },
  { name: 'deep multipart (all levels)', make: (n) => nestedMultipart(Math.floor(n / 70), n) },
  { name: 'many headers', make: (n) => `${fill('X-A: b\r\n', n - 10)}\r\nbody\r\n` },
  { name: 'one huge header', make: (n) => `Subject: ${fill('x ', n - 20)}\r\n\r\nbody\r\n` },
  { name: 'encoded words', make: (n) => `Subject: ${fill('=?utf-8?B?YWJj?= ', n - 20)}\r\n\r\nbody\r\n` },
  {
    name: 'many parts',
    make: (n) => `Content-Type: multipart/mixed; boundary=b\r\n\r\n${fill('--b\r\n\r\nx\r\n', n - 60)}--b--\r\n`,
  },
  { name: 'forwarded, encoded lines', make: forwardedLines },
];

/** As many short lines as EMAIL_LIMITS admit, the rest of the size in one long last line. */
function linesAtCap(n: number): string {
  const lines = fill('x\r\n', (EMAIL_LIMITS.maxLines - 10) * 3);
  return text(lines + fill('long last line ', n - TEXT_HEAD - lines.length));
}

/** A text part and an HTML part side by side, so postal-mime converts the HTML itself too. */
function hostileAlternative(n: number): string {
  const head =
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n' +
    '--b\r\nContent-Type: text/html\r\n\r\n';
  return `${head}${fill('<a <!-- <script <li <br ', n - head.length - 10)}\r\n--b--\r\n`;
}

/** A forwarded message, base64-encoded, that decodes to nothing but newlines. */
function forwardedLines(n: number): string {
  const head =
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n' +
    '--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const line = `${'CgoK'.repeat(19)}\r\n`; // 57 newlines per line
  return `${head}${fill(line, n - head.length - 10)}\r\n--b--\r\n`;
}

/** parseEmail and every zoo featurizer on its view; a ChorusError is an outcome too. */
export async function featurizeMessage(raw: string): Promise<'ok' | string> {
  try {
    const views = await parseEmail(raw);
    for (const member of ZOO) featurizeText(views[member.featurizer.view ?? 'body'], member.featurizer);
    return 'ok';
  } catch (e) {
    const details = (e as { details?: { limit?: string } }).details;
    if (details?.limit) return `error ${details.limit}`;
    throw e;
  }
}

/**
 * Median CPU time (user + system of this process) of one parse + featurize. CPU time rather than
 * wall time: on a shared machine, waiting for a core inflates wall time but not the work done.
 */
async function medianMs(raw: string, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    await featurizeMessage(raw);
    const spent = process.cpuUsage(before);
    times.push((spent.user + spent.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export interface HostileResult {
  name: string;
  kb100Ms: number;
  mib1Ms: number;
  ratio: number;
}

/** Median CPU ms per class at 100 KB and 1 MiB, and their ratio; the last row is the slowest 1 MiB case. */
export async function hostileFeaturizationBench(runs = 7): Promise<HostileResult[]> {
  await featurizeMessage(text('warm up')); // one-time: module init, zoo spec checks
  const rows: HostileResult[] = [];
  for (const c of HOSTILE_CLASSES) {
    const small = c.make(KB100);
    const large = c.make(MIB1);
    await medianMs(small, 1); // warm this path up
    const kb100Ms = await medianMs(small, runs);
    const mib1Ms = await medianMs(large, runs);
    rows.push({ name: c.name, kb100Ms, mib1Ms, ratio: mib1Ms / Math.max(kb100Ms, RATIO_FLOOR_MS) });
  }
  const worst = rows.reduce((a, b) => (b.mib1Ms > a.mib1Ms ? b : a));
  rows.push({ ...worst, name: `worst case: ${worst.name}` });
  return rows;
}

/** The BENCHMARKS.md section: every hostile class at 100 KB and 1 MiB, the ratio, and the outcome. */
export async function hostileSection(): Promise<string> {
  const rows = await hostileFeaturizationBench();
  const outcome = new Map<string, string>();
  for (const c of HOSTILE_CLASSES) outcome.set(c.name, await featurizeMessage(c.make(MIB1)));
  const table = rows
    .map((r) => {
      const o = outcome.get(r.name) ?? '';
      const flag = r.ratio > MAX_LINEAR_RATIO ? ' **above**' : '';
      return `| ${r.name} | ${r.kb100Ms.toFixed(2)} | ${r.mib1Ms.toFixed(2)} | ${r.ratio.toFixed(1)}${flag} | ${o} |`;
    })
    .join('\n');
  return `
## Hostile inputs: parse + featurize at 100 KB and 1 MiB

\`parseEmail\` and every zoo featurizer on constructed hostile messages (median CPU time of 7 runs,
Node, one thread; CPU rather than wall time, so other work on the shared machine does not count).
Linear means 1 MiB / 100 KB ≈ 10.5; the gate is ≤ ${MAX_LINEAR_RATIO}×. The last row is the worst
accepted or refused 1 MiB request we could construct within the limits (\`EMAIL_LIMITS\`, SECURITY.md).

| class | 100 KB CPU ms | 1 MiB CPU ms | ratio | 1 MiB outcome |
|---|---:|---:|---:|---|
${table}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await hostileSection());
}
