import { type ByteRange, classifyLines } from '../../../lib/batch';
import type { EnsembleManifest } from '../../../lib/schema';
import type { BatchPlan } from './coordinator';
import { type BatchDeps, coordinatorOf } from './deps';

/** Ids per coordinator call: one call per chunk keeps each message small. */
const IDS_PER_CALL = 5000;

/**
 * Before a multi-part batch fans out, its parts are read once in file order and the caller ids of
 * their valid rows are claimed at the batch's coordinator (rows sorted as runPart sorts them), so
 * every part knows, before it predicts anything, which of its rows repeat an id an earlier part
 * used: those rows go to errors unpredicted and unmetered. One part's bytes are held at a time and
 * the ids live in the coordinator's SQLite, so memory stays bounded however large the file. A scan
 * cut short resumes after the last part it finished.
 */
export async function scanIds(
  deps: BatchDeps,
  plan: BatchPlan,
  manifest: EnsembleManifest,
  ranges: readonly ByteRange[],
): Promise<void> {
  const coordinator = coordinatorOf(deps, plan.id);
  const scanned = new Set(await coordinator.scannedParts());
  for (const [part, range] of ranges.entries()) {
    if (scanned.has(part)) continue;
    const bytes = await deps.objects.readRange(plan.key, plan.eTag, range.start, range.end);
    if (bytes === null) throw new Error(`${plan.key} no longer holds version ${plan.eTag}`);
    const { valid } = classifyLines(bytes, { maxLineBytes: deps.settings.maxLineBytes, spec: manifest.input });
    const ids = valid.flatMap((r) => (r.id === undefined ? [] : [{ id: r.id, line: r.line }]));
    // the last call for a part marks it scanned; a large part's earlier chunks go first
    for (let i = 0; i === 0 || i < ids.length; i += IDS_PER_CALL) {
      const chunk = ids.slice(i, i + IDS_PER_CALL);
      if (i + IDS_PER_CALL >= ids.length) await coordinator.claimIds(part, chunk);
      else await coordinator.claimChunk(part, chunk);
    }
  }
}
