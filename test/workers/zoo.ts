/** The committed spam zoo as test fixtures inside workerd, and helpers to call the Worker. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import worker from '../../functions/edge/index';
import type { EnsembleManifest } from '../../lib/schema';
import { modelKey } from '../../lib/store';
import bodyChars from '../../models/spam/body-chars-fasttext.int8.onnx';
import bodyLogreg from '../../models/spam/body-logreg.int8.onnx';
import headers from '../../models/spam/headers-logreg.int8.onnx';
import manifestJson from '../../models/spam/manifest.json';
import messageLogreg from '../../models/spam/message-logreg.int8.onnx';
import referenceJson from '../../models/spam/reference.json';
import urls from '../../models/spam/urls-logreg.int8.onnx';
import byoModel from '../fixtures/byo/breast-cancer-mlp.onnx';
import { torchMlpManifest } from '../helpers/byo';

export const ADMIN = { authorization: 'Bearer dev-admin-token' };
export const spamManifest = manifestJson as unknown as EnsembleManifest;
export const reference = referenceJson as unknown as {
  id: string;
  message: string;
  label: string;
  members: Record<string, number[]>;
  fused: Record<'default' | 'hard' | 'soft' | 'geometric' | 'stacking', number[]>;
}[];

const modelBytes: Record<string, ArrayBuffer> = {
  'headers-logreg': headers,
  'body-chars-fasttext': bodyChars,
  'urls-logreg': urls,
  'body-logreg': bodyLogreg,
  'message-logreg': messageLogreg,
};

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://chorus.test${path}`, init));
}

/**
 * The Worker's fetch handler called directly with `request`, as workerd hands it one (a body
 * that errors mid-read, a url no Request can be built with), not through the harness's
 * transport, which would end such a body early or refuse the url.
 */
export async function fetchWorker(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export function putJson(path: string, body: unknown, headers: Record<string, string> = ADMIN): Promise<Response> {
  return call(path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * Ensembles the suites call without a key: marked public, so those calls go through the anonymous
 * path (per-client rate limit); test/workers/keys*.test.ts and metering*.test.ts call with keys.
 */
export const PUBLIC_TEST_ENSEMBLES = [
  'spam',
  'spam-degraded',
  'spam-quorum',
  'spam-cascade',
  'spam-reg',
  'breast-cancer',
  'tensors',
];

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** Creates an API key with the bootstrap admin token; answers the key (shown once) and its id. */
export async function createKey(request: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const res = await postJson('/v1/keys', request, ADMIN);
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; id: string };
}

/** PUT /v1/models as an admin (or with `headers`). */
export function uploadModel(bytes: ArrayBuffer | Uint8Array | string, headers: Record<string, string> = ADMIN) {
  return call('/v1/models', {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: bytes,
  });
}

/** Uploads test/fixtures/byo's PyTorch MLP and publishes it alone as `name`; returns its model ref. */
export async function publishTorchMlp(name: string, labels = ['benign', 'malignant']) {
  const res = await uploadModel(byoModel);
  const { sha256 } = (await res.json()) as { sha256: string };
  const model = { key: modelKey(sha256), sha256, bytes: byoModel.byteLength };
  const published = await putJson(`/v1/ensembles/${name}`, torchMlpManifest(name, model, labels));
  if (published.status !== 201) throw new Error(`publish ${name}: ${published.status} ${await published.text()}`);
  return model;
}

/** Puts the zoo's models into the bucket and publishes `manifest` (the spam ensemble by default). */
export async function seedZoo(manifest: EnsembleManifest = spamManifest): Promise<void> {
  for (const name of PUBLIC_TEST_ENSEMBLES) {
    const res = await call(`/v1/public-ensembles/${name}`, { method: 'PUT', headers: ADMIN });
    if (res.status !== 200) throw new Error(`marking ${name} public failed: ${res.status} ${await res.text()}`);
  }
  for (const member of spamManifest.members) {
    const bytes = modelBytes[member.id];
    if (!bytes) throw new Error(`no fixture for ${member.id}`);
    await env.BUCKET.put(member.model.key, bytes);
  }
  const res = await putJson(`/v1/ensembles/${manifest.name}`, manifest);
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
}
