/** Work counted after it is done (batch parts, jobs), charged to a key's meter once per reference. */
import type { BatchUsageSink } from '../../../lib/batch';
import { batchPartRef, type ChargeResult, jobRef, type UsageSink } from '../../../lib/metering';
import type { EdgeEnv } from '../env';
import { directoryOf, meterOf } from './stubs';

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
