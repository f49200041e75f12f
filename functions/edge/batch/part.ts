import { readBoundedLines, runPart, toJsonl } from '../../../lib/batch';
import { type BatchPartMarker, BatchPartMarkerSchema, type BatchPartMessage } from '../../../lib/schema';
import { batchKeys, getJson, putJson } from '../../../lib/store';
import { type BatchDeps, coordinatorOf, versionReader } from './deps';

/**
 * One part: unless its completion marker already exists, read its byte range of the pinned
 * object version, fuse every valid row, and write results, errors and then the marker (the
 * marker last, so a crash before it redoes the part and overwrites the same keys with the same
 * bytes). Then report to the batch's Durable Object, which counts it once and assembles when
 * the set is complete. The caller acknowledges only after this returns.
 */
export async function processPart(deps: BatchDeps, msg: BatchPartMessage): Promise<void> {
  const keys = batchKeys(msg.batch);
  const coordinator = coordinatorOf(deps, msg.batch);
  const stored = BatchPartMarkerSchema.safeParse(await getJson(deps.store, keys.partDone(msg.part)));
  let marker: BatchPartMarker;
  // a marker of this part fused with another version (an earlier run of a batch uploaded again) is redone
  if (stored.success && (stored.data.version ?? msg.version) === msg.version) {
    marker = stored.data;
  } else {
    const bytes = await readBoundedLines(versionReader(deps, msg.key, msg.eTag), msg.start, msg.end, msg.maxLineBytes);
    const manifest = await deps.runtime.manifests.manifest(msg.ensemble, msg.version);
    // rows whose id an earlier part used (claimed before fan-out, scan.ts) are not predicted
    const duplicates = msg.parts > 1 ? await coordinator.duplicateLines(msg.part) : [];
    const out = await runPart(bytes, {
      part: msg.part,
      duplicateLines: new Set(duplicates),
      maxLineBytes: msg.maxLineBytes,
      maxBadLines: deps.settings.maxBadLines,
      spec: manifest.input,
      predict: (inputs) => deps.predict(manifest, inputs),
      chunkRows: deps.settings.chunkRows,
    });
    const jsonl = { contentType: 'application/x-ndjson' };
    await deps.store.put(keys.partResults(msg.part), toJsonl(out.results), jsonl);
    await deps.store.put(keys.partErrors(msg.part), toJsonl(out.errors), jsonl);
    marker = { ...out.marker, version: msg.version };
    await putJson(deps.store, keys.partDone(msg.part), marker);
  }
  await coordinator.partDone(marker);
}
