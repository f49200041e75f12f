/**
 * The bucket layout (this file is its reference; README.md "Batch fusion" describes the batch
 * keys): every key the code writes or reads is built here, nowhere else. Shapes of keys a caller
 * may name are zod schemas in lib/schema/keys.ts.
 */
export const modelKey = (sha256: string): string => `models/${sha256}.onnx`;
/** A Hugging Face tokenizer.json, content-addressed like models. */
export const tokenizerKey = (sha256: string): string => `tokenizers/${sha256}.json`;
export const versionKey = (name: string, version: number): string => `ensembles/${name}/versions/${version}.json`;
export const pointerKey = (name: string): string => `ensembles/${name}/current.json`;
export const ENSEMBLES_PREFIX = 'ensembles/';
/** The ensemble name of a pointer key, or null for any other key under ensembles/. */
export function ensembleOfPointer(key: string): string | null {
  const m = /^ensembles\/([^/]+)\/current\.json$/.exec(key);
  return m ? (m[1] as string) : null;
}

export const JOBS_PREFIX = 'jobs/';
/** Every object of one job, by role. */
export const jobKeys = (id: string) =>
  ({
    status: `jobs/${id}/status.json`,
    spec: `jobs/${id}/spec.json`,
    report: `jobs/${id}/report.json`,
    reportHtml: `jobs/${id}/report.html`,
    candidate: `jobs/${id}/candidate.json`,
  }) as const;
/** The job id of a status key, or null for any other key under jobs/. */
export function jobOfStatusKey(key: string): string | null {
  const m = /^jobs\/([^/]+)\/status\.json$/.exec(key);
  return m ? (m[1] as string) : null;
}

/** Cached member outputs per (model sha256, dataset sha256). */
export const scoreCacheKey = (modelSha256: string, datasetHash: string): string =>
  `cache/scores/${modelSha256}/${datasetHash}.json`;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Batch fusion: files land under incoming/{ensemble}/, so the key names the ensemble. A key's
 * uploads go one folder deeper, under its id, so two keys never share (or replace) a name.
 */
export const BATCHES_INCOMING_PREFIX = 'batches/incoming/';
export const batchIncomingKey = (ensemble: string, name: string, ownerKeyId?: string): string =>
  `${BATCHES_INCOMING_PREFIX}${ensemble}/${ownerKeyId ? `${ownerKeyId}/` : ''}${name}.jsonl`;
/** The ensemble an incoming key names, or null for a key outside batches/incoming/{ensemble}/….jsonl. */
export function ensembleOfIncomingKey(key: string): string | null {
  const m = /^batches\/incoming\/([A-Za-z0-9._-]{1,128})\/.+\.jsonl$/.exec(key);
  return m ? (m[1] as string) : null;
}
/** Every object of one batch: the final files, and each part's output and completion marker. */
export const batchKeys = (id: string) =>
  ({
    results: `batches/results/${id}.jsonl`,
    errors: `batches/errors/${id}.jsonl`,
    /** every part's files live under it */
    state: `batches/state/${id}/`,
    partResults: (part: number) => `batches/state/${id}/parts/${part}.results.jsonl`,
    partErrors: (part: number) => `batches/state/${id}/parts/${part}.errors.jsonl`,
    partDone: (part: number) => `batches/state/${id}/parts/${part}.done.json`,
  }) as const;

/** Billing exports (the cron's meter events): one file per UTC hour, `usage/2026-11-23/09.ndjson`. */
export const USAGE_PREFIX = 'usage/';
export function usageExportKey(hourStartMs: number, format: 'ndjson' | 'csv'): string {
  const iso = new Date(hourStartMs).toISOString();
  return `${USAGE_PREFIX}${iso.slice(0, 10)}/${iso.slice(11, 13)}.${format}`;
}
