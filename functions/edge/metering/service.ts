/**
 * The edge's side of metering: key creation and revocation across the directory and the key's
 * meter, and billing exports (the Durable Objects' addresses are in stubs.ts, the sink in sink.ts).
 */
import {
  displayPrefix,
  generateKey,
  generateKeyId,
  HOUR_MS,
  hashKey,
  hourStart,
  meterEvents,
  toCsv,
  toNdjson,
} from '../../../lib/metering';
import type { CreateKeyRequest, ExportFormat, MeterEvent } from '../../../lib/schema';
import { usageExportKey } from '../../../lib/store';
import { type EdgeEnv, storeFromEnv } from '../env';
import type { KeyRecord } from './directory';
import { chargeFinishedJobs } from './jobs';
import { directoryOf, meterOf } from './stubs';

export { batchSinkForKey, EdgeUsageSink } from './sink';
export { clientMeterOf, directoryOf, meterOf } from './stubs';

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

/**
 * The cron: finished jobs nobody asked about are charged (jobs.ts), then the hour that just closed
 * is written to usage/ (rewriting it is harmless: same identifiers).
 */
export async function exportClosedHour(env: EdgeEnv, nowMs: number): Promise<string> {
  await chargeFinishedJobs(env);
  const hour = hourStart(nowMs) - HOUR_MS;
  const events = await exportEvents(env, hour, hour + HOUR_MS);
  const key = usageExportKey(hour, 'ndjson');
  await storeFromEnv(env).put(key, toNdjson(events), { contentType: 'application/x-ndjson' });
  return key;
}
