import { sha256Hex } from '../store/keys';

/** R2 reports ETags bare, S3 and HTTP quote them (and weak ones carry W/): one spelling for hashing. */
export const normalizeEtag = (eTag: string): string => eTag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

/**
 * The batch of an object version: the same key and ETag (a re-delivered notification, or an
 * identical re-upload to the same key) give the same id, so the batch is processed once.
 */
export async function batchIdOf(key: string, eTag: string): Promise<string> {
  const hex = await sha256Hex(new TextEncoder().encode(`${key}\n${normalizeEtag(eTag)}`));
  return hex.slice(0, 32);
}

/** Exponential backoff for a part that failed `attempts` times, capped at `maxSeconds`. */
export function retryDelaySeconds(attempts: number, baseSeconds: number, maxSeconds = 300): number {
  const n = Math.max(1, Math.floor(attempts));
  return Math.min(maxSeconds, Math.round(baseSeconds * 2 ** (n - 1)));
}
