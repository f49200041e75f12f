/**
 * The benchmark's native baseline: the same engine and ensemble served by a plain Node HTTP
 * server over onnxruntime-node, models read from the same local S3.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import { type EnsembleManifest, PredictRequestSchema } from '../../lib/schema';
import type { BlobStore } from '../../lib/store';

export function startNativeServer(store: BlobStore, manifests: Record<string, EnsembleManifest>, port: number) {
  const sessions = new SessionCache(createNodeBackend(), store, 256 << 20);
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true, backend: 'onnxruntime-node/cpu' }));
  app.post('/v1/ensembles/:name/predict', async (c) => {
    const manifest = manifests[c.req.param('name')];
    if (!manifest) return c.json({ code: 'not_found' }, 404);
    const body = PredictRequestSchema.parse(await c.req.json());
    return c.json(await predictEnsemble(manifest, body.inputs, sessions, { returnMembers: body.return_members }));
  });
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
