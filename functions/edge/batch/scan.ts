import { type ByteRange, classifyLines, readBoundedLines, tooManyBadLines } from '../../../lib/batch';
import type { EnsembleManifest } from '../../../lib/schema';
import type { BatchPlan } from './coordinator';
import { type BatchDeps, coordinatorOf, versionReader } from './deps';

/**
 * Before a multi-part batch fans out, its parts are read once in file order and the caller ids of
 * their valid rows are claimed at the batch's coordinator (rows sorted as runPart sorts them), so
 * every part knows, before it predicts anything, which of its rows repeat an id an earlier part
 * used: those rows go to errors unpredicted and unmetered. One part's bytes and at most
 * `settings.idsPerCall` ids (plus one part's) are held at a time, and the ids live in the
 * coordinator's SQLite, so memory stays bounded however large the file. A scan cut short resumes
 * without claiming again the parts the coordinator recorded, but reads them again: their bad
 * lines count toward the batch's cap as they did the first time.
 */
export async function scanIds(
  deps: BatchDeps,
  plan: BatchPlan,
  manifest: EnsembleManifest,
  ranges: readonly ByteRange[],
): Promise<void> {
  const coordinator = coordinatorOf(deps, plan.id);
  const scanned = new Set(await coordinator.scannedParts());
  let waiting: { part: number; ids: { id: string; line: number }[] }[] = [];
  let held = 0;
  let bad = 0;
  const send = async () => {
    if (waiting.length > 0) await coordinator.claimIds(waiting);
    waiting = [];
    held = 0;
  };
  const { maxLineBytes, maxBadLines, idsPerCall } = deps.settings;
  for (const [part, range] of ranges.entries()) {
    const bytes = await readBoundedLines(
      versionReader(deps, plan.key, plan.eTag),
      range.start,
      range.end,
      maxLineBytes,
    );
    const { valid, errors } = classifyLines(bytes, { maxLineBytes, maxBadLines, part, spec: manifest.input });
    // a batch over its cap fails here, before any part predicts or is charged
    bad += errors.length;
    if (bad > maxBadLines) throw tooManyBadLines(maxBadLines);
    if (scanned.has(part)) continue;
    const ids = valid.flatMap((r) => (r.id === undefined ? [] : [{ id: r.id, line: r.line }]));
    waiting.push({ part, ids });
    held += ids.length;
    if (held >= idsPerCall) await send();
  }
  await send();
}
