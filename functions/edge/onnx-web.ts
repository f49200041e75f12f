/** Moved to lib/backends/onnx-web.ts; kept for importers outside the edge (test/unit) until they switch. */
export { createWebBackend } from '../../lib/backends/onnx-web';
