/**
 * The Worker: the Hono app over onnxruntime-web, plus the registry Durable Object.
 */
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { createEdgeApp } from './app';

const app = createEdgeApp(createWebBackend({ wasmModule: ortWasm }));

export default app;
export { EnsembleRegistry } from './registry';
