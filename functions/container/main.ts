/**
 * The container function: `node --import tsx functions/container/main.ts` (the Dockerfile runs
 * the same). Configuration comes from the environment, validated with zod.
 */
import { serve } from '@hono/node-server';
import { z } from 'zod';
import { S3BlobStore } from '../../lib/store';
import { createContainerApp } from './app';
import { EdgeClient } from './edge-client';
import { JobRunner } from './runner';
import { Scorer } from './scoring';

const Config = z.object({
  PORT: z.coerce.number().int().positive().default(8788),
  HOST: z.string().default('127.0.0.1'),
  S3_ENDPOINT: z.string().url(),
  S3_BUCKET: z.string().min(3).default('chorus'),
  S3_ACCESS_KEY_ID: z.string().default('S3RVER'),
  S3_SECRET_ACCESS_KEY: z.string().default('S3RVER'),
  EDGE_URL: z.string().url(),
  JOB_SECRET: z.string().min(16),
  MAX_JOB_ATTEMPTS: z.coerce.number().int().positive().default(2),
  /** tests only: pause after each progress step so a job can be killed mid-way */
  CHORUS_JOB_STEP_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
});

const config = Config.parse(process.env);
const store = new S3BlobStore({
  endpoint: config.S3_ENDPOINT,
  bucket: config.S3_BUCKET,
  accessKeyId: config.S3_ACCESS_KEY_ID,
  secretAccessKey: config.S3_SECRET_ACCESS_KEY,
});
const scorer = new Scorer(store);
const runner = new JobRunner(store, scorer, new EdgeClient(config.EDGE_URL, config.JOB_SECRET), {
  maxAttempts: config.MAX_JOB_ATTEMPTS,
  stepDelayMs: config.CHORUS_JOB_STEP_DELAY_MS,
});
const app = createContainerApp(runner, { secret: config.JOB_SECRET, executionProvider: scorer.executionProvider });
serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  console.log(`[container] listening on http://${config.HOST}:${info.port} (${scorer.executionProvider})`);
});
const resumed = await runner.resumeInterrupted();
if (resumed.length > 0) console.log(`[container] resumed ${resumed.join(', ')}`);
const stop = async () => {
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
