/** /v1/batches over the CLI's client: what `chorus batches`, the e2e test and the bench use. */
import { z } from 'zod';
import { BatchIdSchema, type BatchStatus, BatchStatusSchema } from '../lib/schema';
import { ServerError } from './errors';
import { Client } from './http';
import { poll } from './poll';

const AcceptedSchema = z.object({
  id: BatchIdSchema,
  key: z.string(),
  eTag: z.string(),
  bytes: z.number().int(),
  links: z.record(z.string(), z.string()),
});
export type BatchAccepted = z.infer<typeof AcceptedSchema>;

export const BATCH_ENDED = new Set(['done', 'failed']);

export function batchClient(base: string | Client, token?: string) {
  const client = typeof base === 'string' ? new Client({ url: base, key: token }) : base;
  const status = (id: string): Promise<BatchStatus> =>
    client.get(BatchStatusSchema, `/v1/batches/${encodeURIComponent(id)}`);
  return {
    /** Uploads a JSONL body (a Blob from fs.openAsBlob streams from disk) for `ensemble`. */
    async upload(body: Blob | Uint8Array | string, ensemble: string, name?: string): Promise<BatchAccepted> {
      const send = () =>
        client.json(AcceptedSchema, 'POST', '/v1/batches', {
          query: { ensemble, name },
          body: body as BodyInit,
          contentType: 'application/x-ndjson',
        });
      // A pooled connection the server already closed fails before any byte is answered; with a
      // name the upload is idempotent (same name and bytes, same batch), so it is sent once more.
      return send().catch((e: unknown) => {
        if (name && e instanceof ServerError) return send();
        throw e;
      });
    },
    status,
    /** Polls until the batch is done or failed, calling `progress` whenever the status changes. */
    async finished(id: string, progress: (s: BatchStatus) => void = () => {}, intervalMs = 250): Promise<BatchStatus> {
      let last = '';
      return poll(
        () => status(id),
        (s) => BATCH_ENDED.has(s.state),
        (s) => {
          const line = `${s.state} ${s.parts.done}/${s.parts.total}`;
          if (line !== last) progress(s);
          last = line;
        },
        intervalMs,
      );
    },
    /** A finished batch's results or errors file, streamed. */
    file(id: string, which: 'results' | 'errors'): Promise<Response> {
      return client.request('GET', `/v1/batches/${encodeURIComponent(id)}/${which}`);
    },
  };
}

export type BatchClient = ReturnType<typeof batchClient>;
