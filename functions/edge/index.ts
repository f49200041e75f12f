/**
 * The Worker: the Hono app over onnxruntime-web, the batch queue consumer, and the Durable Objects.
 */
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { createEdgeApp } from './app';
import { batchQueueHandler } from './batch';
import type { EdgeEnv } from './env';

const backend = createWebBackend({ wasmModule: ortWasm });
const app = createEdgeApp(backend);

export default {
  fetch: app.fetch,
  queue: batchQueueHandler(backend),
} satisfies ExportedHandler<EdgeEnv>;
export { BatchCoordinator } from './batch';
export { EnsembleRegistry } from './registry';
