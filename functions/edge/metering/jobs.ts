/**
 * Jobs are charged by compute seconds. The edge records the submitting key when it hands a job to
 * the container; the container writes the job's compute time into its status (summed over
 * attempts). The first status read at the edge that sees the job finished charges the key —
 * `computeSeconds × JOB_UNITS_PER_SECOND` units, ledger reference `job:<id>`, so however many
 * reads or isolates race, the key pays once — and the hourly cron does the same for finished jobs
 * nobody asked about. A job that failed is closed without a charge (a failure costs nothing, as
 * for a predict); jobs submitted with the admin token or by the container have no key to charge.
 */
import type { ChargeResult } from '../../../lib/metering';
import type { JobStatus } from '../../../lib/schema';
import { JobStatusSchema } from '../../../lib/schema';
import { getJson, jobKeys } from '../../../lib/store';
import { type EdgeEnv, storeFromEnv } from '../env';
import { EdgeUsageSink } from './sink';
import { directoryOf } from './stubs';

const CHARGED_PHASES = new Set<JobStatus['phase']>(['succeeded', 'gated']);
const FINISHED_PHASES = new Set<JobStatus['phase']>(['succeeded', 'gated', 'failed']);

/** Jobs this isolate has seen settled: their later status reads cost no directory call. */
const settled = new Set<string>();

export async function recordJobOwner(env: EdgeEnv, jobId: string, keyId: string): Promise<void> {
  await directoryOf(env).recordJob(jobId, keyId, Date.now());
}

/**
 * Charges the submitting key for a finished job, once; answers the charge, or null when there is
 * nothing (more) to charge: the job is still running, failed, has no key, or is settled already.
 */
export async function chargeFinishedJob(env: EdgeEnv, status: JobStatus): Promise<ChargeResult | null> {
  if (!FINISHED_PHASES.has(status.phase) || settled.has(status.id)) return null;
  const directory = directoryOf(env);
  const owner = await directory.jobOwner(status.id);
  let charge: ChargeResult | null = null;
  if (owner && owner.closedMs === null && CHARGED_PHASES.has(status.phase)) {
    const seconds = status.computeSeconds ?? 0;
    charge = await new EdgeUsageSink(env).jobFinished(owner.keyId, status.id, status.ensemble, seconds);
  }
  if (owner && owner.closedMs === null) await directory.closeJob(status.id, Date.now());
  if (settled.size > 10_000) settled.clear();
  settled.add(status.id);
  return charge;
}

/** A job the container never wrote a status for (it refused or lost it) is closed after this long. */
const ABANDONED_MS = 24 * 3_600_000;

/** Closes a job's record without a charge (the container never took it). */
export async function closeJob(env: EdgeEnv, jobId: string): Promise<void> {
  await directoryOf(env).closeJob(jobId, Date.now());
}

/** The cron's sweep: finished jobs whose status nobody read are charged too (at most `limit`). */
export async function chargeFinishedJobs(env: EdgeEnv, limit = 100, nowMs = Date.now()): Promise<number> {
  const store = storeFromEnv(env);
  let charged = 0;
  for (const { id, submittedMs } of await directoryOf(env).openJobs(limit)) {
    const parsed = JobStatusSchema.safeParse(await getJson(store, jobKeys(id).status));
    if (parsed.success) {
      if (await chargeFinishedJob(env, parsed.data)) charged++;
    } else if (nowMs - submittedMs > ABANDONED_MS) {
      await closeJob(env, id);
    }
  }
  return charged;
}
