import { type BlobStore, R2BlobStore, S3BlobStore } from '../../lib/store';

/** Bindings from wrangler.toml (`wrangler types`) plus the optional S3 endpoint of the local stack. */
export interface EdgeEnv extends Env {
  /** members whose int8 weights are dequantized at load: `all` (unset), `none`, or member ids */
  FOLD_QUANTIZATION?: string;
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

/** R2 through its binding in production; an S3 endpoint when one is configured (local stack). */
export function storeFromEnv(env: EdgeEnv): BlobStore {
  if (env.S3_ENDPOINT) {
    return new S3BlobStore({
      endpoint: env.S3_ENDPOINT,
      bucket: env.S3_BUCKET ?? 'chorus',
      accessKeyId: env.S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? 'S3RVER',
    });
  }
  return new R2BlobStore(env.BUCKET);
}

export function numberVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
