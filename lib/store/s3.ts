import { AwsClient } from 'aws4fetch';
import { ChorusError } from '../errors';
import type { BlobHead, BlobStore } from './blob-store';

export interface S3Config {
  /** e.g. http://127.0.0.1:4569 (path-style addressing, as local servers and R2 accept) */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
}

/**
 * S3-protocol store over fetch + SigV4 (aws4fetch), so the same code runs in Workers and Node.
 * Plain PUTs with a known length: no aws-chunked framing, which some local servers store verbatim.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: AwsClient;
  private readonly base: string;

  constructor(config: S3Config) {
    this.client = new AwsClient({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      region: config.region ?? 'auto',
      service: 's3',
    });
    this.base = `${config.endpoint.replace(/\/$/, '')}/${config.bucket}`;
  }

  private url(key: string): string {
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async send(method: string, url: string, init: RequestInit = {}): Promise<Response> {
    const res = await this.client.fetch(url, { method, ...init });
    if (res.ok || res.status === 404) return res;
    const text = await res.text().catch(() => '');
    throw new ChorusError('invalid_argument', `S3 ${method} ${url} failed: ${res.status} ${text.slice(0, 200)}`);
  }

  async get(key: string): Promise<Uint8Array | null> {
    const res = await this.send('GET', this.url(key));
    if (res.status === 404) return null;
    return new Uint8Array(await res.arrayBuffer());
  }

  async head(key: string): Promise<BlobHead | null> {
    const res = await this.send('HEAD', this.url(key));
    if (res.status === 404) return null;
    return { size: Number(res.headers.get('content-length') ?? 0) };
  }

  async put(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void> {
    const bytes = (typeof body === 'string' ? new TextEncoder().encode(body) : body) as Uint8Array<ArrayBuffer>;
    await this.send('PUT', this.url(key), {
      body: bytes,
      headers: { 'content-type': options?.contentType ?? 'application/octet-stream' },
    });
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ 'list-type': '2', prefix });
      if (token) q.set('continuation-token', token);
      const res = await this.send('GET', `${this.base}?${q}`);
      const xml = await res.text();
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(decodeXml(m[1] ?? ''));
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? decodeXml(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '')
        : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.send('DELETE', this.url(key));
  }
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
