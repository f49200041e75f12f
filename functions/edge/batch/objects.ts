import { AwsClient } from 'aws4fetch';
import {
  type BatchObjects,
  type MultipartUpload,
  normalizeEtag,
  type ObjectVersion,
  type UploadedPart,
} from '../../../lib/batch';
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

  async createMultipart(key: string, contentType: string): Promise<MultipartUpload> {
    const upload = await this.bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
    return {
      uploadPart: async (partNumber, body) => upload.uploadPart(partNumber, body),
      complete: async (parts) => {
        const obj = await upload.complete([...parts]);
        return { size: obj.size, eTag: obj.etag };
      },
      abort: () => upload.abort(),
    };
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

  private url(key: string, query: string): string {
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}${query ? `?${query}` : ''}`;
  }

  private async send(method: string, key: string, init: RequestInit = {}, query = ''): Promise<Response | null> {
    const res = await this.client.fetch(this.url(key, query), { method, ...init });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`S3 ${method} ${key}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res;
  }

  /** `send` for a request that must find its key (or upload): a 404 is an error. */
  private async sendFound(method: string, key: string, init: RequestInit = {}, query = ''): Promise<Response> {
    const res = await this.send(method, key, init, query);
    if (!res) throw new Error(`S3 ${method} ${key}${query ? `?${query}` : ''}: 404`);
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
    const res = await this.sendFound('PUT', key, {
      body: fixedLength(body, length),
      // a streamed body cannot be hashed before it is sent
      headers: { 'content-type': contentType, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    return S3BatchObjects.version(res, length);
  }

  async createMultipart(key: string, contentType: string): Promise<MultipartUpload> {
    const must = (method: string, query: string, init: RequestInit) => this.sendFound(method, key, init, query);
    const started = await (await must('POST', 'uploads', { headers: { 'content-type': contentType } })).text();
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(started)?.[1];
    if (!uploadId) throw new Error(`S3 CreateMultipartUpload ${key}: no UploadId in ${started.slice(0, 200)}`);
    const id = `uploadId=${encodeURIComponent(uploadId)}`;
    let size = 0;
    return {
      uploadPart: async (partNumber, body): Promise<UploadedPart> => {
        const res = await must('PUT', `partNumber=${partNumber}&${id}`, { body });
        size += body.length;
        return { partNumber, etag: res.headers.get('etag') ?? '' };
      },
      complete: async (parts) => {
        const xml = parts
          .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag}</ETag></Part>`)
          .join('');
        const res = await must('POST', id, {
          body: `<CompleteMultipartUpload>${xml}</CompleteMultipartUpload>`,
          headers: { 'content-type': 'application/xml' },
        });
        // S3 may answer 200 with an <Error> body once the upload has begun
        const text = await res.text();
        if (text.includes('<Error>')) throw new Error(`S3 CompleteMultipartUpload ${key}: ${text.slice(0, 200)}`);
        const eTag = /<ETag>([^<]+)<\/ETag>/.exec(text)?.[1] ?? '';
        return { size, eTag: normalizeEtag(eTag.replace(/&quot;/g, '"')) };
      },
      abort: async () => void (await must('DELETE', id, {})),
    };
  }
}

/** The same choice as storeFromEnv: the S3 endpoint when configured, else the R2 binding. */
export function batchObjectsFromEnv(env: EdgeEnv): BatchObjects {
  const s3 = s3ConfigFromEnv(env);
  return s3 ? new S3BatchObjects(s3) : new R2BatchObjects(env.BUCKET);
}
