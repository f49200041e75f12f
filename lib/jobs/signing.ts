/**
 * HMAC-SHA256 request signing between the edge and the container (both directions), with
 * WebCrypto so the same code runs in Workers and Node. Header:
 *   x-chorus-signature: t=<unix seconds>,v1=<hex hmac(secret, `${t}.${method} ${path}.${body}`)>
 * A signature older than `maxAgeSeconds` (or from the future beyond it) is stale.
 */
export const SIGNATURE_HEADER = 'x-chorus-signature';

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const sig = await crypto.subtle.sign('HMAC', key, encoder.encode(message));
  return Array.from(new Uint8Array(sig), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Constant-time equality of two secrets: both are hashed first, so neither the position of the
 * first difference nor the length of the expected value shows in the time taken.
 */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all(
    [given, expected].map(async (s) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)))),
  );
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (a?.[i] ?? 0) ^ (b?.[i] ?? 1);
  return diff === 0;
}

export async function signRequest(
  secret: string,
  method: string,
  path: string,
  body: string,
  now = Date.now(),
): Promise<string> {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${await hmacHex(secret, `${t}.${method.toUpperCase()} ${path}.${body}`)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export async function verifyRequest(
  secret: string,
  header: string | null | undefined,
  method: string,
  path: string,
  body: string,
  options: { maxAgeSeconds?: number; now?: number } = {},
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: 'missing' };
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return { ok: false, reason: 'malformed' };
  const t = Number(m[1]);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - t) > (options.maxAgeSeconds ?? 300)) return { ok: false, reason: 'stale' };
  const expected = await hmacHex(secret, `${t}.${method.toUpperCase()} ${path}.${body}`);
  return (await secretsEqual(m[2] as string, expected)) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
