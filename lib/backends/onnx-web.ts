import * as ort from 'onnxruntime-web/wasm';
import {
  type InferenceBackend,
  type ModelSession,
  type OrtSessionLike,
  ortSessionConfig,
  residentEstimate,
  type SessionOptions,
  wrapOrtSession,
} from '../ensemble';

/** Emscripten's first bytes of a wasm file; ORT is handed this instead of the real binary. */
const PLACEHOLDER = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
let installedModule: WebAssembly.Module | undefined;

/**
 * Workers refuse to compile WebAssembly from bytes, so the Worker imports ORT's wasm as a
 * precompiled module (wrangler `CompiledWasm`) and we answer ORT's instantiate call with it.
 * Emscripten passes a copy of `wasmBinary`, so the placeholder is recognised by shape.
 */
function installPrecompiledWasm(module: WebAssembly.Module): void {
  if (installedModule) return;
  installedModule = module;
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (
    source: BufferSource | WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ) => Promise<unknown>;
  const patched = (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports): Promise<unknown> =>
    !(source instanceof WebAssembly.Module) && source.byteLength === PLACEHOLDER.byteLength
      ? (instantiate(module, imports) as Promise<WebAssembly.Instance>).then((instance) => ({ instance, module }))
      : instantiate(source, imports);
  (WebAssembly as { instantiate: unknown }).instantiate = patched;
  ort.env.wasm.wasmBinary = PLACEHOLDER;
}

/**
 * One call into onnxruntime-web at a time, for every session of this module's wasm instance.
 * ORT-web's `run` takes its argument arrays from the wasm stack (stackSave, stackAlloc) and
 * gives them back (stackRestore) only after awaits in between; two runs in flight at once — the
 * engine runs an ensemble's members concurrently — restore out of order, so the stack pointer
 * drifts and a later run's arrays overwrite live ones. It went unnoticed for ~34,000 four-member
 * predicts and then aborted the instance for good (`Aborted()` / "null function or function
 * signature mismatch"; measured in Node and in workerd). The runs are CPU-bound on one thread,
 * so queueing them costs no throughput.
 */
let tail: Promise<unknown> = Promise.resolve();
function serial<T>(task: () => Promise<T>): Promise<T> {
  const result = tail.then(task);
  tail = result.catch(() => undefined);
  return result;
}

/** The session with every call that enters the wasm instance queued behind the others. */
function serialized(session: ort.InferenceSession): OrtSessionLike<ort.Tensor> {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    run: (feeds, fetches) => serial(() => session.run(feeds, fetches)),
    release: () => serial(() => session.release()),
  };
}

/**
 * The only module that imports onnxruntime-web. In workerd pass the precompiled wasm module;
 * in Node and browsers ORT loads its wasm itself. Import this file by path, not through a
 * barrel, so the Worker bundle never pulls in the Node backend beside it.
 */
export function createWebBackend(options: { wasmModule?: WebAssembly.Module } = {}): InferenceBackend {
  if (options.wasmModule) installPrecompiledWasm(options.wasmModule);
  ort.env.wasm.numThreads = 1; // Workers have no threads; one thread is also the fair comparison
  return {
    name: 'onnxruntime-web/wasm',
    async createSession(model: Uint8Array, sessionOptions?: SessionOptions): Promise<ModelSession> {
      // the native backend's options (see ortSessionConfig): 'basic', weights folded
      const config = ortSessionConfig(sessionOptions);
      const session = await serial(() =>
        ort.InferenceSession.create(model, {
          executionProviders: ['wasm'],
          ...config,
          // MLAS prepacks a constant MatMul weight into panels padded to 16 columns: for the [K, 2]
          // linear members of the zoo that is 8x the fp32 bytes, held and read on every run. Unpacked,
          // a one-row MatMul takes MLAS's GEMV path over the plain weight: faster here and the
          // resident bytes stay 4x the int8 file (residentEstimate). Outputs move <= 1.2e-7.
          // Only here: the native backend scores the zoo's committed reference answers.
          extra: { session: { ...config.extra?.session, disable_prepacking: '1' } },
        }),
      );
      return wrapOrtSession(
        serialized(session),
        (t) => new ort.Tensor(t.dtype, t.data, t.dims),
        residentEstimate(model, sessionOptions),
      );
    },
  };
}
