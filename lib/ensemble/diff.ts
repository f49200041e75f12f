import type { DecisionView, EnsembleManifest, ManifestDiff, MemberSpec } from '../schema';

/**
 * What differs between two versions of one ensemble, as an operator reads it before a rollback or
 * a publish: members added, removed or changed (and which of their fields), the weights fusion
 * actually uses, the served label rule, and the members' validation metrics. Pure: the edge reads
 * the two manifests and answers this.
 */
export function diffManifests(before: EnsembleManifest, after: EnsembleManifest): ManifestDiff {
  const byId = (m: EnsembleManifest) => new Map(m.members.map((x) => [x.id, x]));
  const a = byId(before);
  const b = byId(after);
  const changed: ManifestDiff['members']['changed'] = [];
  for (const [id, old] of a) {
    const now = b.get(id);
    if (!now) continue;
    const fields = changedFields(old, now);
    if (fields.length > 0) changed.push({ id, fields });
  }
  const decision = { before: decisionView(before), after: decisionView(after) };
  return {
    name: after.name,
    from: before.version,
    to: after.version,
    members: {
      added: [...b.keys()].filter((id) => !a.has(id)),
      removed: [...a.keys()].filter((id) => !b.has(id)),
      changed,
    },
    weights: weightChanges(before, after),
    decision: { ...decision, changed: !same(decision.before, decision.after) },
    metrics: metricChanges(a, b),
  };
}

/** Member ids in first-seen order over both versions. */
const unionIds = (a: EnsembleManifest, b: EnsembleManifest): string[] => [
  ...new Set([...a.members, ...b.members].map((m) => m.id)),
];

/** Order-insensitive structural equality of JSON values (manifests are parsed JSON). */
function same(x: unknown, y: unknown): boolean {
  return JSON.stringify(canonical(x)) === JSON.stringify(canonical(y));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return Object.fromEntries(
      entries.sort(([k1], [k2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : 0)).map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

/** Top-level member fields that differ; `metrics` are reported on their own, figure by figure. */
function changedFields(old: MemberSpec, now: MemberSpec): string[] {
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  keys.delete('id');
  keys.delete('metrics');
  return [...keys].filter((k) => !same(old[k as keyof MemberSpec], now[k as keyof MemberSpec])).sort();
}

/** The weights fusion uses: the manifest's map normalised to sum 1, equal weights when it has none. */
function effectiveWeights(m: EnsembleManifest): Map<string, number> {
  const raw = m.members.map((x) => [x.id, m.fusion.weights ? (m.fusion.weights[x.id] ?? 0) : 1] as const);
  const total = raw.reduce((s, [, w]) => s + w, 0);
  return new Map(raw.map(([id, w]) => [id, total > 0 ? w / total : 0]));
}

/** Weights that moved by more than rounding (1e-9), or belong to a member on one side only. */
function weightChanges(before: EnsembleManifest, after: EnsembleManifest): ManifestDiff['weights'] {
  const a = effectiveWeights(before);
  const b = effectiveWeights(after);
  return unionIds(before, after)
    .map((member) => ({ member, before: a.get(member) ?? null, after: b.get(member) ?? null }))
    .filter((w) => w.before === null || w.after === null || Math.abs(w.before - w.after) > 1e-9);
}

/** The default strategy's temperature and decision, as the engine applies them (engine.ts strategyCalibration). */
function decisionView(m: EnsembleManifest): DecisionView {
  const cal = m.fusion.calibration?.[m.fusion.strategy];
  return {
    strategy: m.fusion.strategy,
    temperature: cal?.temperature ?? m.fusion.temperature,
    decision: cal?.decision ?? null,
    cascadeThreshold: m.fusion.cascadeThreshold ?? null,
    quorum: m.fusion.quorum,
    minAnswering: m.fusion.minAnswering ?? 1,
    requireAnyOf: m.fusion.requireAnyOf ?? [],
  };
}

function metricChanges(a: Map<string, MemberSpec>, b: Map<string, MemberSpec>): ManifestDiff['metrics'] {
  const out: ManifestDiff['metrics'] = [];
  for (const member of new Set([...a.keys(), ...b.keys()])) {
    const x: Record<string, number | undefined> = { ...a.get(member)?.metrics };
    const y: Record<string, number | undefined> = { ...b.get(member)?.metrics };
    for (const metric of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const before = x[metric] ?? null;
      const after = y[metric] ?? null;
      if (before !== after) out.push({ member, metric, before, after });
    }
  }
  return out;
}
