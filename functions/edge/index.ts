/**
 * The Worker: the Hono app over onnxruntime-web, the batch queue consumer, and the Durable Objects.
 */
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { createEdgeApp } from './app';
import { batchQueueHandler } from './batch';
import type { EdgeEnv } from './env';
import { exportClosedHour } from './metering/service';

const backend = createWebBackend({ wasmModule: ortWasm });
const app = createEdgeApp(backend);

export default {
  fetch: app.fetch,
  queue: batchQueueHandler(backend),
  // the cron ([triggers] in wrangler.toml): the hour that just closed, as billing meter events under usage/
  scheduled: (controller, env, ctx) => ctx.waitUntil(exportClosedHour(env, controller.scheduledTime)),
} satisfies ExportedHandler<EdgeEnv>;
export { BatchCoordinator } from './batch';
export { KeyDirectory } from './metering/directory';
export { KeyMeter } from './metering/key-meter';
export { EnsembleRegistry } from './registry';
