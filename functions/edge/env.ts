import { type BlobStore, R2BlobStore, S3BlobStore, type S3Config } from '../../lib/store';

/** Bindings from wrangler.toml (`wrangler types`) plus the optional S3 endpoint of the local stack. */
export interface EdgeEnv extends Env {
  /** members whose int8 weights are dequantized at load: `all` (unset), `none`, or member ids */
  FOLD_QUANTIZATION?: string;
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

/** The S3 endpoint the local stack configures, or null: production uses the R2 binding. */
export function s3ConfigFromEnv(env: EdgeEnv): S3Config | null {
  if (!env.S3_ENDPOINT) return null;
  return {
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET ?? 'chorus',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? 'S3RVER',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? 'S3RVER',
  };
}

/** R2 through its binding in production; an S3 endpoint when one is configured (local stack). */
export function storeFromEnv(env: EdgeEnv): BlobStore {
  const s3 = s3ConfigFromEnv(env);
  return s3 ? new S3BlobStore(s3) : new R2BlobStore(env.BUCKET);
}

export function numberVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
