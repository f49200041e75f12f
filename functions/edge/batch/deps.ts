import { type BatchObjects, DEFAULT_MAX_BAD_LINES } from '../../../lib/batch';
import { type EngineInput, predictEnsemble } from '../../../lib/ensemble';
import type { EnsembleManifest, PredictResponse } from '../../../lib/schema';
import type { BlobStore } from '../../../lib/store';
import type { Runtime } from '../context';
import { type EdgeEnv, numberVar } from '../env';
import type { BatchCoordinator } from './coordinator';
import { batchObjectsFromEnv } from './objects';

/** Runs a pinned manifest on rows; tests wrap it to inject failures around the real engine. */
export type BatchPredict = (manifest: EnsembleManifest, inputs: EngineInput[]) => Promise<PredictResponse>;

export interface BatchSettings {
  /** nominal bytes per part; a file up to this size is one part, processed without fan-out */
  partBytes: number;
  maxLineBytes: number;
  retryBaseSeconds: number;
  chunkRows: number;
  /** bad lines a batch may have; one more fails it (lib/batch DEFAULT_MAX_BAD_LINES) */
  maxBadLines: number;
  /**
   * ids the pre-fan-out scan holds before it sends them to the coordinator (scan.ts): whole
   * parts go in one call until this many wait (each call is a storage commit there)
   */
  idsPerCall: number;
}

/** Everything the queue consumer touches, built once from the bindings (overridable in tests). */
export interface BatchDeps {
  store: BlobStore;
  objects: BatchObjects;
  runtime: Runtime;
  coordinators: DurableObjectNamespace<BatchCoordinator>;
  /** where part messages are fanned out: the same queue the notifications arrive on */
  queue: Queue;
  predict: BatchPredict;
  settings: BatchSettings;
}

export function batchSettingsFromEnv(env: EdgeEnv): BatchSettings {
  return {
    // a part's rows, results and their JSONL are held at once: 1 MiB of the shortest valid rows
    // (39k) peaks near 48 MiB of heap, 4 MiB went past a deployed isolate's 128 MB
    partBytes: numberVar(env.BATCH_PART_BYTES, 1 << 20),
    maxLineBytes: numberVar(env.BATCH_MAX_LINE_BYTES, 1 << 20),
    retryBaseSeconds: numberVar(env.BATCH_RETRY_BASE_SECONDS, 2),
    chunkRows: numberVar(env.BATCH_CHUNK_ROWS, 64),
    maxBadLines: numberVar(env.BATCH_MAX_BAD_LINES, DEFAULT_MAX_BAD_LINES),
    idsPerCall: 20_000,
  };
}

export function batchDepsFromEnv(env: EdgeEnv, runtime: Runtime): BatchDeps {
  return {
    store: runtime.store,
    objects: batchObjectsFromEnv(env),
    runtime,
    coordinators: env.BATCHES,
    queue: env.BATCH_QUEUE,
    predict: (manifest, inputs) => predictEnsemble(manifest, inputs, runtime.sessions),
    settings: batchSettingsFromEnv(env),
  };
}

/** Ranges of one version of an incoming object; a read after it was replaced or removed throws. */
export const versionReader =
  (deps: BatchDeps, key: string, eTag: string) =>
  async (start: number, end: number): Promise<Uint8Array> => {
    const bytes = await deps.objects.readRange(key, eTag, start, end);
    if (bytes === null) throw new Error(`${key} no longer holds version ${eTag}`);
    return bytes;
  };

export const coordinatorOf = (deps: BatchDeps, batch: string): DurableObjectStub<BatchCoordinator> =>
  deps.coordinators.get(deps.coordinators.idFromName(batch));
