/**
 * Where batch rows are counted for billing. The batch state calls it once per part (the batch id
 * and part number are the idempotency key), after the part's output is durable; pay-per-use
 * implements it. `rows` are predicted rows, `units` the ensemble's cost units for them.
 */
export interface BatchUsageSink {
  partCounted(batchId: string, part: number, rows: number, units: number): Promise<void>;
}

/** Counts nothing: the default until a metering implementation is wired in. */
export const NOOP_BATCH_USAGE_SINK: BatchUsageSink = Object.freeze({
  partCounted: async () => {},
});
