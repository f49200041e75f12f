import { type ByteRange, classifyLines, readBoundedLines, tooManyBadLines } from '../../../lib/batch';
import type { EnsembleManifest } from '../../../lib/schema';
import type { BatchPlan } from './coordinator';
import { type BatchDeps, coordinatorOf, versionReader } from './deps';

/**
 * Ids held before they are sent to the coordinator: whole parts go in one call until this many
 * are waiting (each call is a storage commit at the coordinator; memory stays bounded).
 */
const IDS_PER_CALL = 20_000;

/**
 * Before a multi-part batch fans out, its parts are read once in file order and the caller ids of
 * their valid rows are claimed at the batch's coordinator (rows sorted as runPart sorts them), so
 * every part knows, before it predicts anything, which of its rows repeat an id an earlier part
 * used: those rows go to errors unpredicted and unmetered. One part's bytes and at most
 * IDS_PER_CALL ids (plus one part's) are held at a time, and the ids live in the coordinator's
 * SQLite, so memory stays bounded however large the file. A scan cut short resumes after the last
 * part the coordinator recorded.
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
  for (const [part, range] of ranges.entries()) {
    if (scanned.has(part)) continue;
    const { maxLineBytes, maxBadLines } = deps.settings;
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
    const ids = valid.flatMap((r) => (r.id === undefined ? [] : [{ id: r.id, line: r.line }]));
    waiting.push({ part, ids });
    held += ids.length;
    if (held >= IDS_PER_CALL) await send();
  }
  await send();
}
