import type { MiddlewareHandler } from 'hono';
import { type InferenceBackend, parseFoldPolicy, SessionCache } from '../../lib/ensemble';
import type { BlobStore } from '../../lib/store';
import { type EdgeEnv, numberVar, storeFromEnv } from './env';
import { ManifestResolver } from './manifests';
import type { Principal } from './principal';

/** Per-isolate state: the store, the session cache and the manifest cache outlive requests. */
export interface Runtime {
  backend: InferenceBackend;
  store: BlobStore;
  sessions: SessionCache;
  manifests: ManifestResolver;
}

/** What every route of the edge sees: the Worker's bindings, `c.var.runtime`, and who calls (principal.ts). */
export type AppEnv = {
  Bindings: EdgeEnv;
  /** `body`: the request body as limitStreamedBody counts it, for routes that stream it on */
  Variables: { runtime: Runtime; principal?: Principal; body?: ReadableStream<Uint8Array> };
};

const runtimes = new WeakMap<InferenceBackend, Runtime>();

/**
 * The isolate's runtime for `backend`, built from the first bindings it sees (bindings arrive
 * only with a request or a queue batch) and shared by every later request and batch, so both
 * paths use one session cache.
 */
export function runtimeFor(backend: InferenceBackend, env: EdgeEnv): Runtime {
  let runtime = runtimes.get(backend);
  if (!runtime) {
    const store = storeFromEnv(env);
    runtime = {
      backend,
      store,
      sessions: new SessionCache(
        backend,
        store,
        numberVar(env.SESSION_CACHE_BYTES, 64 << 20),
        parseFoldPolicy(env.FOLD_QUANTIZATION),
      ),
      manifests: new ManifestResolver(env.REGISTRY, store, numberVar(env.MANIFEST_TTL_MS, 5000)),
    };
    runtimes.set(backend, runtime);
  }
  return runtime;
}

/** Sets `c.var.runtime` (see runtimeFor). */
export function provideRuntime(backend: InferenceBackend): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('runtime', runtimeFor(backend, c.env));
    await next();
  };
}
