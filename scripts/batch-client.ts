/** A small HTTP client for /v1/batches: what `npm run batch`, the e2e test and the bench use. */
import { z } from 'zod';
import { BatchIdSchema, type BatchStatus, BatchStatusSchema } from '../lib/schema';

const AcceptedSchema = z.object({
  id: BatchIdSchema,
  key: z.string(),
  eTag: z.string(),
  bytes: z.number().int(),
  links: z.record(z.string(), z.string()),
});
export type BatchAccepted = z.infer<typeof AcceptedSchema>;

async function ok(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  throw new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 500)}`);
}

export function batchClient(base: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const status = async (id: string): Promise<BatchStatus> =>
    BatchStatusSchema.parse(
      await (await ok(await fetch(`${base}/v1/batches/${id}`, { headers: auth }), 'status')).json(),
    );
  return {
    /** Uploads a JSONL body (a Blob from fs.openAsBlob streams from disk) for `ensemble`. */
    async upload(body: Blob | Uint8Array | string, ensemble: string, name?: string): Promise<BatchAccepted> {
      const q = new URLSearchParams({ ensemble, ...(name ? { name } : {}) });
      const send = () =>
        fetch(`${base}/v1/batches?${q}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/x-ndjson' },
          body: body as BodyInit,
        });
      // A pooled connection the server already closed fails before any byte is answered; with a
      // name the upload is idempotent (same name and bytes, same batch), so it is sent once more.
      const res = await send().catch((e: unknown) => {
        if (name) return send();
        throw e;
      });
      return AcceptedSchema.parse(await (await ok(res, 'upload')).json());
    },
    status,
    /** Polls until the batch is done or failed, calling `progress` whenever the status changes. */
    async finished(id: string, progress: (s: BatchStatus) => void = () => {}, intervalMs = 250): Promise<BatchStatus> {
      let last = '';
      for (;;) {
        const s = await status(id);
        const line = `${s.state} ${s.parts.done}/${s.parts.total}`;
        if (line !== last) progress(s);
        last = line;
        if (s.state === 'done' || s.state === 'failed') return s;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    /** A finished batch's results or errors file, streamed. */
    async file(id: string, which: 'results' | 'errors'): Promise<Response> {
      return ok(await fetch(`${base}/v1/batches/${id}/${which}`, { headers: auth }), which);
    },
  };
}
