import { AwsClient } from 'aws4fetch';
import { type BatchObjects, normalizeEtag, type ObjectVersion } from '../../../lib/batch';
import { type EdgeEnv, s3ConfigFromEnv } from '../env';

/** Workers stream a body into storage only when its length is known up front. */
const fixedLength = (body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> =>
  body.pipeThrough(new FixedLengthStream(length));

/** Batch objects through the R2 binding (production). */
export class R2BatchObjects implements BatchObjects {
  constructor(private readonly bucket: R2Bucket) {}

  async stat(key: string): Promise<ObjectVersion | null> {
    const head = await this.bucket.head(key);
    return head ? { size: head.size, eTag: head.etag } : null;
  }

  async readRange(key: string, eTag: string, start: number, end: number): Promise<Uint8Array | null> {
    if (end <= start) return (await this.stat(key))?.eTag === eTag ? new Uint8Array() : null;
    const obj = await this.bucket.get(key, { range: { offset: start, length: end - start } });
    if (!obj) return null;
    const bytes = new Uint8Array(await obj.arrayBuffer());
    return obj.etag === eTag ? bytes : null;
  }

  async readStream(key: string): Promise<ReadableStream<Uint8Array> | null> {
    return (await this.bucket.get(key))?.body ?? null;
  }

  async writeStream(
    key: string,
    body: ReadableStream<Uint8Array>,
    length: number,
    contentType: string,
  ): Promise<ObjectVersion> {
    const obj = await this.bucket.put(key, fixedLength(body, length), { httpMetadata: { contentType } });
    return { size: obj.size, eTag: obj.etag };
  }
}

/** Batch objects over an S3 endpoint (the local stack): ranges and streams through SigV4 fetches. */
export class S3BatchObjects implements BatchObjects {
  private readonly client: AwsClient;
  private readonly base: string;

  constructor(config: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string }) {
    this.client = new AwsClient({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      region: 'auto',
      service: 's3',
    });
    this.base = `${config.endpoint.replace(/\/$/, '')}/${config.bucket}`;
  }

  private url(key: string): string {
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async send(method: string, key: string, init: RequestInit = {}): Promise<Response | null> {
    const res = await this.client.fetch(this.url(key), { method, ...init });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`S3 ${method} ${key}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res;
  }

  private static version(res: Response, size: number): ObjectVersion {
    return { size, eTag: normalizeEtag(res.headers.get('etag') ?? '') };
  }

  async stat(key: string): Promise<ObjectVersion | null> {
    const res = await this.send('HEAD', key);
    return res ? S3BatchObjects.version(res, Number(res.headers.get('content-length') ?? 0)) : null;
  }

  async readRange(key: string, eTag: string, start: number, end: number): Promise<Uint8Array | null> {
    if (end <= start) return (await this.stat(key))?.eTag === eTag ? new Uint8Array() : null;
    const res = await this.send('GET', key, { headers: { range: `bytes=${start}-${end - 1}` } });
    if (!res) return null;
    const bytes = new Uint8Array(await res.arrayBuffer());
    return S3BatchObjects.version(res, bytes.length).eTag === eTag ? bytes : null;
  }

  async readStream(key: string): Promise<ReadableStream<Uint8Array> | null> {
    return (await this.send('GET', key))?.body ?? null;
  }

  async writeStream(
    key: string,
    body: ReadableStream<Uint8Array>,
    length: number,
    contentType: string,
  ): Promise<ObjectVersion> {
    const res = await this.send('PUT', key, {
      body: fixedLength(body, length),
      // a streamed body cannot be hashed before it is sent
      headers: { 'content-type': contentType, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    if (!res) throw new Error(`S3 PUT ${key}: 404`);
    return S3BatchObjects.version(res, length);
  }
}

/** The same choice as storeFromEnv: the S3 endpoint when configured, else the R2 binding. */
export function batchObjectsFromEnv(env: EdgeEnv): BatchObjects {
  const s3 = s3ConfigFromEnv(env);
  return s3 ? new S3BatchObjects(s3) : new R2BatchObjects(env.BUCKET);
}
