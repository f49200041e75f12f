/**
 * API keys: `chorus_` + base58 of 32 random bytes. The key is shown once; what is kept is its
 * SHA-256 (hex) and its first characters for display. WebCrypto only, so Workers and Node agree.
 */
export const KEY_PREFIX = 'chorus_';
/** How many leading characters of a key are kept for display (`chorus_` + 5). */
export const DISPLAY_CHARS = 12;
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const KEY_SHAPE = /^chorus_[1-9A-HJ-NP-Za-km-z]{40,48}$/;

/** Base58 (Bitcoin alphabet) of `bytes`, leading zero bytes as '1'. */
export function base58(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] as number) << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '';
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += '1';
  }
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] as number];
  return out;
}

const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** A fresh key, 32 random bytes; `random` is for tests. */
export function generateKey(random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(32);
  // a leading 1 bit keeps the encoded length fixed (44 characters) for every key
  bytes[0] = (bytes[0] as number) | 0x80;
  return `${KEY_PREFIX}${base58(bytes)}`;
}

/** A public key id (safe to log and show): `key_` + base58 of 9 random bytes. */
export function generateKeyId(random: (n: number) => Uint8Array = randomBytes): string {
  return `key_${base58(random(9))}`;
}

/** Whether `s` has the shape of a Chorus key (cheap, before hashing). */
export const looksLikeKey = (s: string): boolean => KEY_SHAPE.test(s);

/** SHA-256 of the key as lowercase hex: the only form a key is stored in. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The characters kept for display: enough to recognise a key, far too few to use it. */
export const displayPrefix = (key: string): string => key.slice(0, DISPLAY_CHARS);

/** The credential of an `Authorization: Bearer …` header (scheme case-insensitive), or null. */
export function parseBearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

/** Equality whose time does not depend on where two strings first differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
