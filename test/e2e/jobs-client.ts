/**
 * A client of the local stack for job tests and the benchmark: admin calls through the edge,
 * signed calls straight to the container, job polling and reports parsed with JobReportSchema.
 */
import type { Stack } from '../../infra/local-stack';
import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  type JobReport,
  JobReportSchema,
  type JobSpecInput,
  type JobStatus,
} from '../../lib/schema';
import { jobKeys } from '../../lib/store';
import type { ModelRef } from '../../lib/train';

/** The container's secret in the local stack (infra/local-stack.ts). */
export const DEV_JOB_SECRET = 'dev-job-secret-change-me';

export const ended = (s: JobStatus): boolean => ['succeeded', 'gated', 'failed'].includes(s.phase);

async function expectStatus(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
}

export function jobsClient(stack: Pick<Stack, 'edgeUrl' | 'containerUrl' | 'adminToken' | 'store'>) {
  // the bootstrap admin token holds every scope (reads of ensembles and jobs need a credential)
  const auth = { authorization: `Bearer ${stack.adminToken}` };
  const admin = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${stack.edgeUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const status = async (id: string): Promise<JobStatus> =>
    (await (await fetch(`${stack.edgeUrl}/v1/jobs/${id}`, { headers: auth })).json()) as JobStatus;
  return {
    admin,
    status,
    /** A signed request straight to the container, as the edge makes them. */
    async container(method: string, path: string, body = '', timestamp?: number): Promise<Response> {
      const signature = await signRequest(DEV_JOB_SECRET, method, path, body, timestamp);
      return fetch(`${stack.containerUrl}${path}`, {
        method,
        ...(body ? { body } : {}),
        headers: { [SIGNATURE_HEADER]: signature },
      });
    },
    async publish(manifest: EnsembleManifest): Promise<void> {
      await expectStatus(
        await admin('PUT', `/v1/ensembles/${manifest.name}`, manifest),
        201,
        `publish ${manifest.name}`,
      );
    },
    async manifest(name: string): Promise<EnsembleManifest> {
      return EnsembleManifestSchema.parse(
        await (await fetch(`${stack.edgeUrl}/v1/ensembles/${name}`, { headers: auth })).json(),
      );
    },
    async version(name: string): Promise<number> {
      return (
        (await (await fetch(`${stack.edgeUrl}/v1/ensembles/${name}`, { headers: auth })).json()) as { version: number }
      ).version;
    },
    async uploadModel(bytes: Uint8Array): Promise<ModelRef> {
      const res = await fetch(`${stack.edgeUrl}/v1/models`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${stack.adminToken}` },
        body: new Uint8Array(bytes),
      });
      const { key, sha256, bytes: size } = (await (await expectStatus(res, 201, 'upload')).json()) as ModelRef;
      return { key, sha256, bytes: size };
    },
    async submit(spec: JobSpecInput): Promise<string> {
      const res = await expectStatus(await admin('POST', '/v1/jobs', spec), 202, `submit ${spec.kind}`);
      return ((await res.json()) as { id: string }).id;
    },
    async waitUntil(id: string, done: (s: JobStatus) => boolean = ended, timeoutMs = 240_000): Promise<JobStatus> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await status(id);
        if (done(s)) return s;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${s.phase} (${s.step})`);
        await new Promise((r) => setTimeout(r, 300));
      }
    },
    /** jobs/{id}/report.json as the container wrote it, checked against the shared schema. */
    async report(id: string): Promise<JobReport> {
      const bytes = await stack.store.get(jobKeys(id).report);
      if (!bytes) throw new Error(`job ${id} has no report`);
      return JobReportSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
    },
    /** Which version answers a one-line e-mail, and which members ran. */
    async predictVersion(name: string): Promise<{ version: number; ran: string[] }> {
      const res = await fetch(`${stack.edgeUrl}/v1/ensembles/${name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ inputs: [{ message: 'Subject: hello\r\n\r\nlunch tomorrow?' }] }),
      });
      return (await (await expectStatus(res, 200, `predict ${name}`)).json()) as { version: number; ran: string[] };
    },
    async predict(name: string, inputs: unknown[]): Promise<Response> {
      return fetch(`${stack.edgeUrl}/v1/ensembles/${name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ inputs }),
      });
    },
  };
}
