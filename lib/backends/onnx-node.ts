import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  type InferenceBackend,
  type ModelSession,
  ortSessionConfig,
  residentEstimate,
  type SessionOptions,
  wrapOrtSession,
} from '../ensemble';

/**
 * Whether the CUDA execution provider's library was installed beside the binding (the container
 * image runs the binding's install script with `--onnxruntime-node-install=cuda12`; `allowScripts`
 * in package.json keeps an ordinary `npm install` from running it).
 */
export function cudaAvailable(): boolean {
  try {
    const binding = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(binding, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** Makes one session on the given execution providers (onnxruntime's own factory, or a test's). */
export type OrtSessionFactory = (
  model: Uint8Array,
  providers: readonly string[],
  options?: SessionOptions,
) => Promise<ort.InferenceSession>;

const ortSessionFactory: OrtSessionFactory = (model, providers, options) =>
  ort.InferenceSession.create(model, {
    executionProviders: [...providers],
    intraOpNumThreads: 1,
    ...ortSessionConfig(options),
  });

/**
 * A session on CUDA when asked for, else CPU — per session: with the provider library present
 * but no usable GPU or driver, creating the CUDA session throws, and that session falls back to
 * CPU instead of failing the job. Returns the provider that the session actually runs on.
 */
export async function createOnWorkingProvider(
  create: OrtSessionFactory,
  model: Uint8Array,
  cuda: boolean,
  options?: SessionOptions,
): Promise<{ session: ort.InferenceSession; provider: 'cuda' | 'cpu'; fallback?: string }> {
  if (cuda) {
    try {
      return { session: await create(model, ['cuda', 'cpu'], options), provider: 'cuda' };
    } catch (e) {
      const fallback = e instanceof Error ? e.message : String(e);
      return { session: await create(model, ['cpu'], options), provider: 'cpu', fallback };
    }
  }
  return { session: await create(model, ['cpu'], options), provider: 'cpu' };
}

/** A Node backend that also says which provider its sessions actually ran on. */
export interface NodeBackend extends InferenceBackend {
  /** `cpu`, `cuda`, or `cuda+cpu` when some sessions fell back */
  readonly executionProvider: string;
}

/** The execution provider a backend's sessions ran on (for reports and health). */
export function nodeExecutionProvider(backend: InferenceBackend): string {
  return 'executionProvider' in backend ? String(backend.executionProvider) : (backend.name.split('/')[1] ?? 'cpu');
}

/**
 * The only module that imports onnxruntime-node (imported by path, never through a barrel, so it
 * cannot reach the Worker bundle). `cuda` is the caller's choice (the container's parsed settings):
 * CUDA is tried when asked for and this build ships its provider library; each session that
 * cannot run there falls back to CPU, and `executionProvider` reports what actually ran.
 */
export function createNodeBackend(
  options: { cuda: boolean; createSession?: OrtSessionFactory } = { cuda: false },
): NodeBackend {
  const create = options.createSession ?? ortSessionFactory;
  const cuda = options.cuda && (options.createSession !== undefined || cudaAvailable());
  const used = new Set<'cuda' | 'cpu'>();
  const provider = () => (used.size === 0 ? (cuda ? 'cuda' : 'cpu') : [...used].sort().reverse().join('+'));
  return {
    get name() {
      return `onnxruntime-node/${provider()}`;
    },
    get executionProvider() {
      return provider();
    },
    async createSession(model: Uint8Array, sessionOptions?: SessionOptions): Promise<ModelSession> {
      const made = await createOnWorkingProvider(create, model, cuda, sessionOptions);
      used.add(made.provider);
      if (made.fallback) console.warn(`[onnxruntime-node] CUDA session failed, running on CPU: ${made.fallback}`);
      return wrapOrtSession(
        made.session,
        (t) => new ort.Tensor(t.dtype, t.data, t.dims),
        residentEstimate(model, sessionOptions),
      );
    },
  };
}
