/** Human lines for manifests, version lists and diffs (--json prints the answers as they came). */
import type { EnsembleManifest } from '../../lib/schema';
import type { ManifestDiff, VersionList } from '../lifecycle';

export function describeManifest(m: EnsembleManifest): string[] {
  const weights = m.fusion.weights;
  return [
    `${m.name} v${m.version}  ${m.task}  labels: ${m.labels.join(', ')}`,
    `input: ${Object.entries(m.input.fields)
      .map(([f, spec]) => `${f} (${spec.type === 'text' ? `text/${spec.format}` : `tensor ${spec.dtype}`})`)
      .join(', ')}`,
    `fusion: ${m.fusion.strategy}${m.fusion.weightsFrom ? ` (weights: ${m.fusion.weightsFrom})` : ''}`,
    ...m.members.map(
      (member) =>
        `  ${member.id.padEnd(24)} ${(member.variant ?? '').padEnd(4)} ${String(member.model.bytes).padStart(9)} B` +
        `  w=${weights ? (weights[member.id] ?? 0) : 'equal'}  ${member.model.key}`,
    ),
    `provenance: ${JSON.stringify(m.provenance)}`,
  ];
}

export function describeVersions(v: VersionList): string[] {
  return [
    `${v.name}: current v${v.current}${v.archived ? ' (archived)' : ''}`,
    ...v.versions.map(
      (row) =>
        `${row.current ? '*' : ' '} v${String(row.version).padEnd(4)} ${row.publishedAt}  by ${row.publishedBy}` +
        `  ${row.members} members${row.jobId ? `  job ${row.jobId}` : ''}`,
    ),
  ];
}

const num = (v: number | null) => (v === null ? '—' : Number(v.toFixed(4)).toString());

export function describeDiff(d: ManifestDiff): string[] {
  const lines = [`${d.name}: v${d.from} → v${d.to}`];
  for (const id of d.members.added) lines.push(`  + member ${id}`);
  for (const id of d.members.removed) lines.push(`  - member ${id}`);
  for (const c of d.members.changed) lines.push(`  ~ member ${c.id}: ${c.fields.join(', ')}`);
  for (const w of d.weights) lines.push(`  weight ${w.member}: ${num(w.before)} → ${num(w.after)}`);
  if (d.decision.changed) {
    const view = (s: ManifestDiff['decision']['before']) =>
      `${s.strategy} T=${s.temperature} ${s.decision ? JSON.stringify(s.decision) : 'argmax'}`;
    lines.push(`  decision: ${view(d.decision.before)} → ${view(d.decision.after)}`);
  }
  for (const m of d.metrics) lines.push(`  ${m.member} ${m.metric}: ${num(m.before)} → ${num(m.after)}`);
  if (lines.length === 1) lines.push('  (no differences)');
  return lines;
}
