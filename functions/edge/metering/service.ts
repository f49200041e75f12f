/**
 * The edge's side of metering: where each Durable Object lives, key creation and revocation
 * across the directory and the key's meter, the batch/job usage sink, and billing exports.
 */

import type { BatchUsageSink } from '../../../lib/batch';
import {
  batchPartRef,
  type ChargeResult,
  displayPrefix,
  generateKey,
  generateKeyId,
  HOUR_MS,
  hashKey,
  hourStart,
  jobRef,
  meterEvents,
  toCsv,
  toNdjson,
  type UsageSink,
} from '../../../lib/metering';
import type { CreateKeyRequest, ExportFormat, MeterEvent } from '../../../lib/schema';
import { usageExportKey } from '../../../lib/store';
import { type EdgeEnv, storeFromEnv } from '../env';
import type { KeyRecord } from './directory';

export const meterOf = (env: EdgeEnv, keyHash: string) => env.KEY_METER.get(env.KEY_METER.idFromName(keyHash));
export const clientMeterOf = (env: EdgeEnv, client: string) =>
  env.KEY_METER.get(env.KEY_METER.idFromName(`client:${client}`));
export const directoryOf = (env: EdgeEnv) => env.KEY_DIRECTORY.get(env.KEY_DIRECTORY.idFromName('directory'));

/** The event name of billing exports (a Stripe meter's event_name). */
export const eventNameOf = (env: EdgeEnv): string => env.METER_EVENT_NAME || 'chorus_units';

/** Makes a key: the meter learns its hash and limits first, then the directory lists it. */
export async function createKey(env: EdgeEnv, req: CreateKeyRequest): Promise<{ key: string; record: KeyRecord }> {
  const key = generateKey();
  const id = generateKeyId();
  const hash = await hashKey(key);
  const record: KeyRecord = {
    id,
    hash,
    prefix: displayPrefix(key),
    name: req.name,
    customer: req.customer ?? id,
    scopes: req.scopes,
    ensembles: req.ensembles ?? null,
    rate: { requests: req.rate_limit.requests, windowSeconds: req.rate_limit.window_seconds },
    metered: req.budget_units !== undefined,
    createdMs: Date.now(),
    revokedMs: null,
  };
  await meterOf(env, hash).init({
    keyId: id,
    keyHash: hash,
    scopes: record.scopes,
    ensembles: record.ensembles,
    rate: record.rate,
    budgetUnits: req.budget_units ?? null,
  });
  await directoryOf(env).add(record);
  return { key, record };
}

/** Revokes at the meter first (it is what admits requests), then in the directory. */
export async function revokeKey(env: EdgeEnv, id: string): Promise<KeyRecord | null> {
  const record = await directoryOf(env).get(id);
  if (!record) return null;
  const at = record.revokedMs ?? Date.now();
  await meterOf(env, record.hash).revoke(at);
  return directoryOf(env).revoke(id, at);
}

/** Hourly meter events of every key over [fromMs, toMs), hours truncated. */
export async function exportEvents(env: EdgeEnv, fromMs: number, toMs: number): Promise<MeterEvent[]> {
  const from = hourStart(fromMs);
  const to = hourStart(toMs) === toMs ? toMs : hourStart(toMs) + HOUR_MS;
  const keys = await directoryOf(env).list();
  const perKey = await Promise.all(
    keys.map(async (k) => meterEvents(eventNameOf(env), k, await meterOf(env, k.hash).hourly(from, to))),
  );
  return perKey.flat();
}

export const renderEvents = (events: readonly MeterEvent[], format: ExportFormat): string =>
  format === 'csv' ? toCsv(events) : toNdjson(events);

/** The cron: the hour that just closed, written to usage/ (rewriting it is harmless: same identifiers). */
export async function exportClosedHour(env: EdgeEnv, nowMs: number): Promise<string> {
  const hour = hourStart(nowMs) - HOUR_MS;
  const events = await exportEvents(env, hour, hour + HOUR_MS);
  const key = usageExportKey(hour, 'ndjson');
  await storeFromEnv(env).put(key, toNdjson(events), { contentType: 'application/x-ndjson' });
  return key;
}

/**
 * The UsageSink of lib/metering at the edge: batch parts and jobs are charged after the work is
 * counted (overdraft allowed: the work is done), once per idempotency reference.
 */
export class EdgeUsageSink implements UsageSink {
  constructor(private readonly env: EdgeEnv) {}

  private async meter(keyId: string) {
    const record = await directoryOf(this.env).get(keyId);
    if (!record) throw new Error(`no API key ${keyId}`);
    return meterOf(this.env, record.hash);
  }

  async partCounted(
    keyId: string,
    batchId: string,
    part: number,
    rows: number,
    units: number,
    ensemble = '(batch)',
  ): Promise<ChargeResult> {
    const meter = await this.meter(keyId);
    return meter.charge({ kind: 'batch', ensemble, units, rows, ref: batchPartRef(batchId, part), overdraft: true });
  }

  async jobFinished(keyId: string, jobId: string, ensemble: string, computeSeconds: number): Promise<ChargeResult> {
    const meter = await this.meter(keyId);
    const units = computeSeconds * Number(this.env.JOB_UNITS_PER_SECOND || 1);
    return meter.charge({ kind: 'job', ensemble, units, rows: 1, ref: jobRef(jobId), overdraft: true });
  }
}

/** lib/batch's per-batch sink, bound to the key that owns the batch (its uploader). */
export function batchSinkForKey(env: EdgeEnv, keyId: string, ensemble: string): BatchUsageSink {
  const sink = new EdgeUsageSink(env);
  return {
    partCounted: async (batchId, part, rows, units) => {
      await sink.partCounted(keyId, batchId, part, rows, units, ensemble);
    },
  };
}
