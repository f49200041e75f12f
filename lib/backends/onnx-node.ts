import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type InferenceBackend, type ModelSession, wrapOrtSession } from '../ensemble';

/**
 * 'basic' (constant folding, redundant-node removal) keeps the model's arithmetic. The 'extended'
 * fusions rewrite int8 DequantizeLinear → MatMul into an integer MatMul that also quantizes the
 * activations, which moves answers ~1e-4 away from what the graph defines (measured); we keep the
 * answer equal to the model's definition (1e-5 across runtimes) instead.
 */
const GRAPH_OPTIMIZATION = 'basic';

/**
 * Whether the CUDA execution provider's library was installed beside the binding (the container
 * image installs it with `onnxruntime-node-install=cuda12`; the default `.npmrc` skips it).
 */
export function cudaAvailable(): boolean {
  try {
    const binding = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(binding, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The execution provider a backend made by createNodeBackend runs on. */
export function nodeExecutionProvider(backend: InferenceBackend): string {
  return backend.name.split('/')[1] ?? 'cpu';
}

/**
 * The only module that imports onnxruntime-node (imported by path, never through a barrel, so it
 * cannot reach the Worker bundle). `cuda` is the caller's choice (the container's parsed settings);
 * the CUDA execution provider is used when asked for and this build has it, CPU otherwise — the
 * backend's name says which.
 */
export function createNodeBackend(options: { cuda: boolean } = { cuda: false }): InferenceBackend {
  const cuda = options.cuda && cudaAvailable();
  const providers = cuda ? ['cuda', 'cpu'] : ['cpu'];
  return {
    name: `onnxruntime-node/${cuda ? 'cuda' : 'cpu'}`,
    async createSession(model: Uint8Array): Promise<ModelSession> {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: providers,
        intraOpNumThreads: 1,
        graphOptimizationLevel: GRAPH_OPTIMIZATION,
      });
      return wrapOrtSession(session, (t) => new ort.Tensor(t.dtype, t.data, t.dims));
    },
  };
}
