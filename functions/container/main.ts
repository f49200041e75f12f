/**
 * The container function: `node --import tsx functions/container/main.ts` (the Dockerfile runs
 * the same). Settings come from the environment, parsed here once with zod and passed down;
 * nothing below this file reads `process.env`.
 */
import { serve } from '@hono/node-server';
import { z } from 'zod';
import { createNodeBackend, nodeExecutionProvider } from '../../lib/backends/onnx-node';
import { SessionCache } from '../../lib/ensemble';
import { S3BlobStore } from '../../lib/store';
import { Evaluator } from '../../lib/train';
import { createContainerApp } from './app';
import { EdgeClient } from './edge-client';
import { JobRunner } from './runner';

const SettingsSchema = z.object({
  PORT: z.coerce.number().int().positive().default(8788),
  HOST: z.string().default('127.0.0.1'),
  S3_ENDPOINT: z.string().url(),
  S3_BUCKET: z.string().min(3).default('chorus'),
  S3_ACCESS_KEY_ID: z.string().default('S3RVER'),
  S3_SECRET_ACCESS_KEY: z.string().default('S3RVER'),
  EDGE_URL: z.string().url(),
  JOB_SECRET: z.string().min(16),
  MAX_JOB_ATTEMPTS: z.coerce.number().int().positive().default(2),
  /** `1`: run models on the CUDA execution provider when this build has it (the image sets it) */
  CHORUS_CUDA: z.enum(['0', '1']).default('0'),
  /** bytes of models whose sessions stay resident */
  CHORUS_SESSION_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 << 20),
  /** tests only: pause after each progress step so a job can be killed mid-way */
  CHORUS_JOB_STEP_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
});

const settings = SettingsSchema.parse(process.env);
const store = new S3BlobStore({
  endpoint: settings.S3_ENDPOINT,
  bucket: settings.S3_BUCKET,
  accessKeyId: settings.S3_ACCESS_KEY_ID,
  secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
});
const backend = createNodeBackend({ cuda: settings.CHORUS_CUDA === '1' });
const executionProvider = () => nodeExecutionProvider(backend);
const evaluator = new Evaluator(new SessionCache(backend, store, settings.CHORUS_SESSION_BYTES), { cache: store });
const runner = new JobRunner(store, evaluator, new EdgeClient(settings.EDGE_URL, settings.JOB_SECRET), {
  maxAttempts: settings.MAX_JOB_ATTEMPTS,
  stepDelayMs: settings.CHORUS_JOB_STEP_DELAY_MS,
  executionProvider,
});
const app = createContainerApp(runner, { secret: settings.JOB_SECRET, executionProvider });
serve({ fetch: app.fetch, port: settings.PORT, hostname: settings.HOST }, (info) => {
  console.log(`[container] listening on http://${settings.HOST}:${info.port} (${executionProvider()})`);
});
const resumed = await runner.resumeInterrupted();
if (resumed.length > 0) console.log(`[container] resumed ${resumed.join(', ')}`);
const stop = async () => {
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
