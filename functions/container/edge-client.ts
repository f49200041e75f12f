import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';

/** The container's calls to the edge registry, HMAC-signed: it never writes the pointer itself. */
export class EdgeClient {
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  private async signed(method: string, path: string, body = ''): Promise<Response> {
    const headers: Record<string, string> = { [SIGNATURE_HEADER]: await signRequest(this.secret, method, path, body) };
    if (body) headers['content-type'] = 'application/json';
    return fetch(`${this.baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
  }

  async current(name: string): Promise<{ manifest: EnsembleManifest; latest: number }> {
    const res = await this.signed('GET', `/v1/ensembles/${name}`);
    if (!res.ok) throw new Error(`edge GET ${name}: ${res.status} ${await res.text()}`);
    const latest = Number(res.headers.get('x-chorus-latest-version') ?? 0);
    return { manifest: EnsembleManifestSchema.parse(await res.json()), latest };
  }

  /** Publishes `manifest` as the next version; returns the version or throws with the edge's problem. */
  async publish(manifest: EnsembleManifest): Promise<number> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { latest } = await this.current(manifest.name);
      const body = JSON.stringify({ ...manifest, version: latest + 1 });
      const res = await this.signed('PUT', `/v1/ensembles/${manifest.name}`, body);
      if (res.status === 201) return ((await res.json()) as { version: number }).version;
      if (res.status !== 409) throw new Error(`edge publish: ${res.status} ${await res.text()}`);
      // someone else published meanwhile: take the new latest and try again
    }
    throw new Error('edge publish: version conflict three times');
  }
}
