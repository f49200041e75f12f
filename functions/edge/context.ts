import type { MiddlewareHandler } from 'hono';
import { type InferenceBackend, SessionCache } from '../../lib/ensemble';
import type { BlobStore } from '../../lib/store';
import { type EdgeEnv, numberVar, storeFromEnv } from './env';
import { ManifestResolver } from './manifests';

/** Per-isolate state: the store, the session cache and the manifest cache outlive requests. */
export interface Runtime {
  backend: InferenceBackend;
  store: BlobStore;
  sessions: SessionCache;
  manifests: ManifestResolver;
}

/** What every route of the edge sees: the Worker's bindings and `c.var.runtime`. */
export type AppEnv = { Bindings: EdgeEnv; Variables: { runtime: Runtime } };

/**
 * Sets `c.var.runtime`, built on the isolate's first request (bindings arrive only with a
 * request) and shared by every later one.
 */
export function provideRuntime(backend: InferenceBackend): MiddlewareHandler<AppEnv> {
  let runtime: Runtime | undefined;
  return async (c, next) => {
    if (!runtime) {
      const store = storeFromEnv(c.env);
      runtime = {
        backend,
        store,
        sessions: new SessionCache(backend, store, numberVar(c.env.SESSION_CACHE_BYTES, 64 << 20)),
        manifests: new ManifestResolver(c.env.REGISTRY, store, numberVar(c.env.MANIFEST_TTL_MS, 5000)),
      };
    }
    c.set('runtime', runtime);
    await next();
  };
}
