import { batchIdOf, normalizeEtag, planParts, retryDelaySeconds, TooManyBadLinesError } from '../../../lib/batch';
import { isChorusError } from '../../../lib/errors';
import {
  type BatchPartMessage,
  type BatchQueueMessage,
  BatchQueueMessageSchema,
  type BatchStatus,
  type R2ObjectEvent,
} from '../../../lib/schema';
import { ensembleOfIncomingKey } from '../../../lib/store';
import type { BatchPlan } from './coordinator';
import { type BatchDeps, coordinatorOf, versionReader } from './deps';
import { processPart } from './part';
import { scanIds } from './scan';

/** Queues' sendBatch takes at most 100 messages per call. */
const SEND_BATCH_MAX = 100;
const CREATE_ACTIONS: ReadonlySet<string> = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);

const describe = (e: unknown): string =>
  isChorusError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
const isPart = (m: BatchQueueMessage): m is BatchPartMessage => 'kind' in m && m.kind === 'batch-part';

interface EventTarget {
  plan: BatchPlan;
  /** the object's current version, when it is still the notified one */
  alive: boolean;
}

/** The batch a notification names: its id, and the plan fields known before reading the file. */
async function targetOf(deps: BatchDeps, event: R2ObjectEvent): Promise<EventTarget | null> {
  const { key } = event.object;
  const ensemble = ensembleOfIncomingKey(key);
  if (!CREATE_ACTIONS.has(event.action) || ensemble === null) return null;
  const current = await deps.objects.stat(key);
  const eTag = event.object.eTag ? normalizeEtag(event.object.eTag) : current?.eTag;
  if (!eTag) return null;
  const id = await batchIdOf(key, eTag);
  const plan = { id, key, eTag, ensemble, version: 0, bytes: current?.size ?? 0, parts: 1 };
  return { plan, alive: current !== null && current.eTag === eTag };
}

/**
 * A notification: plan the batch once (parts cut at line starts, manifest version pinned), then
 * process a one-part file here or fan the parts out as messages. A re-delivered notification
 * re-sends only the parts not yet done; a finished batch is left alone.
 */
async function handleEvent(deps: BatchDeps, event: R2ObjectEvent): Promise<void> {
  const target = await targetOf(deps, event);
  if (!target) return; // not an incoming batch file, or a delete: nothing to fuse
  const coordinator = coordinatorOf(deps, target.plan.id);
  if (!target.alive) {
    const why = `${target.plan.key} was replaced or removed before processing (new contents are a batch of their own)`;
    console.warn(`batch ${target.plan.id}: ${why}`);
    // an upload the API accepted is queued: it ends failed with the reason instead of waiting forever
    const accepted = await coordinator.status();
    if (accepted && accepted.state !== 'done' && accepted.state !== 'failed') await coordinator.reject(why);
    return;
  }
  const known = await coordinator.status();
  if (known && (known.state === 'done' || known.state === 'failed')) return;
  const { key, eTag, bytes, ensemble } = target.plan;
  const version = known?.version || (await deps.runtime.manifests.currentVersion(ensemble));
  if (version === 0) {
    await coordinator.reject(`ensemble '${ensemble}' does not exist or is archived`, target.plan);
    return;
  }
  const ranges = await planParts(bytes, deps.settings.partBytes, versionReader(deps, key, eTag));
  const plan = { ...target.plan, version, parts: ranges.length };
  // ids repeated across parts are known before any part predicts (scan.ts); one part needs no scan
  if (ranges.length > 1) await scanIds(deps, plan, await deps.runtime.manifests.manifest(ensemble, version), ranges);
  const { doneParts } = await coordinator.plan(plan);
  const done = new Set(doneParts);
  const parts: BatchPartMessage[] = ranges.flatMap((r, part) =>
    done.has(part)
      ? []
      : [
          {
            kind: 'batch-part' as const,
            batch: target.plan.id,
            key,
            eTag,
            ensemble,
            version,
            part,
            parts: ranges.length,
            start: r.start,
            end: r.end,
            maxLineBytes: deps.settings.maxLineBytes,
          },
        ],
  );
  if (ranges.length === 1) {
    for (const p of parts) await processPart(deps, p);
    return;
  }
  for (let i = 0; i < parts.length; i += SEND_BATCH_MAX) {
    await deps.queue.sendBatch(parts.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body })));
  }
}

/** Whether a part message belongs to the batch's current run: planned, running, on its version. */
const isCurrent = (known: BatchStatus | null, msg: BatchPartMessage): boolean =>
  known?.state === 'running' && known.version === msg.version;

async function handlePart(deps: BatchDeps, msg: BatchPartMessage): Promise<void> {
  // a finished batch, or a message of an earlier run of one uploaded again after it failed
  if (!isCurrent(await coordinatorOf(deps, msg.batch).status(), msg)) return;
  await processPart(deps, msg);
}

/** Fails the batch a message belongs to, with `reason` as its failure. */
async function rejectBatch(deps: BatchDeps, body: BatchQueueMessage, reason: string) {
  if (isPart(body)) return coordinatorOf(deps, body.batch).reject(reason);
  const target = await targetOf(deps, body);
  if (target) await coordinatorOf(deps, target.plan.id).reject(reason, target.plan);
}

/** Keeps a failure's reason in the batch state, so a later dead-lettering can say why. */
async function recordFailure(deps: BatchDeps, body: BatchQueueMessage, attempts: number, reason: string) {
  if (isPart(body)) return coordinatorOf(deps, body.batch).partFailed(body.part, attempts, reason);
  const target = await targetOf(deps, body);
  if (target) await coordinatorOf(deps, target.plan.id).partFailed(0, attempts, reason);
}

/**
 * The batch queue: messages are handled one at a time (a part takes the isolate's CPU) and
 * acknowledged one by one once their output is durable; a failure retries that message alone
 * with exponential backoff from `attempts`, and after max_retries the queue dead-letters it.
 * A body that is neither a notification nor a part can never succeed: logged and acknowledged.
 */
export async function consumeBatchQueue(batch: MessageBatch<unknown>, deps: BatchDeps): Promise<void> {
  for (const msg of batch.messages) {
    const parsed = BatchQueueMessageSchema.safeParse(msg.body);
    if (!parsed.success) {
      console.error(`batch queue: unrecognised message ${msg.id}`, parsed.error.issues.slice(0, 3));
      msg.ack();
      continue;
    }
    const body = parsed.data;
    try {
      if (isPart(body)) await handlePart(deps, body);
      else await handleEvent(deps, body);
      msg.ack();
    } catch (e) {
      if (e instanceof TooManyBadLinesError) {
        // the file itself is the problem: retrying cannot help, so the batch fails now, with why
        // (unless recording that fails: then the message is retried like any other)
        const rejected = await rejectBatch(deps, body, e.message).then(
          () => true,
          () => false,
        );
        if (rejected) {
          msg.ack();
          continue;
        }
      }
      const reason = describe(e);
      console.warn(`batch queue: message ${msg.id} attempt ${msg.attempts} failed: ${reason}`);
      await recordFailure(deps, body, msg.attempts, reason).catch(() => undefined);
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, deps.settings.retryBaseSeconds) });
    }
  }
}

/** The dead-letter queue: each message's batch is marked failed with the last recorded reason. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, deps: BatchDeps): Promise<void> {
  for (const msg of batch.messages) {
    const parsed = BatchQueueMessageSchema.safeParse(msg.body);
    if (parsed.success) {
      const body = parsed.data;
      const fallback = `gave up after ${msg.attempts} attempt(s)`;
      if (isPart(body)) {
        const coordinator = coordinatorOf(deps, body.batch);
        if (isCurrent(await coordinator.status(), body)) await coordinator.fail(body.part, fallback);
      } else {
        const target = await targetOf(deps, body);
        if (target) await coordinatorOf(deps, target.plan.id).fail(0, fallback, target.plan);
      }
    }
    msg.ack();
  }
}
