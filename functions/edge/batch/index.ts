/** Event-triggered batch fusion at the edge: the queue consumer and the per-batch Durable Object. */
import type { InferenceBackend } from '../../../lib/ensemble';
import { runtimeFor } from '../context';
import type { EdgeEnv } from '../env';
import { consumeBatchQueue, consumeDeadLetters } from './consumer';
import { batchDepsFromEnv } from './deps';

export { consumeBatchQueue, consumeDeadLetters } from './consumer';
export { BatchCoordinator, batchUsageSinkFor } from './coordinator';
export { type BatchDeps, batchDepsFromEnv, batchSettingsFromEnv } from './deps';

/** Dead-letter queues are named `<queue>-dlq` (wrangler.toml): that is how one handler tells them apart. */
export const isDeadLetterQueue = (name: string): boolean => name.endsWith('-dlq');

/** The Worker's `queue` handler: batch notifications and parts, and their dead letters. */
export function batchQueueHandler(backend: InferenceBackend) {
  return async (batch: MessageBatch<unknown>, env: EdgeEnv): Promise<void> => {
    const deps = batchDepsFromEnv(env, runtimeFor(backend, env));
    if (isDeadLetterQueue(batch.queue)) await consumeDeadLetters(batch, deps);
    else await consumeBatchQueue(batch, deps);
  };
}
