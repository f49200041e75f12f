import { ChorusError } from '../errors';
import type { EnsembleManifest, FeaturizerSpec, InputSpec, MemberSpec } from '../schema';
import type { ModelSession, ValueInfo } from './backend';
import type { SessionSource } from './engine';

/** The tensor a featurizer feeds: element type and per-example shape. */
function fedTensor(f: FeaturizerSpec, input: InputSpec): { dtype: string; shape: number[] } | null {
  const field = input.fields[f.field];
  if (!field) return null;
  if (f.kind === 'tensor') return field.type === 'tensor' ? { dtype: field.dtype, shape: [...field.shape] } : null;
  if (f.output === 'ids') return { dtype: 'int64', shape: [f.maxIds ?? 0] };
  return { dtype: 'float32', shape: [f.buckets] };
}

/** A declared dim agrees with a required size when it is symbolic or equal. */
const dimFits = (declared: number | string | undefined, size: number) =>
  typeof declared !== 'number' || declared < 0 || declared === size;

function shapeProblem(what: string, info: ValueInfo, perExample: readonly number[]): string | null {
  if (!info.shape) return null;
  if (info.shape.length !== perExample.length + 1) {
    return `${what} '${info.name}' has rank ${info.shape.length}, the manifest implies [batch, ${perExample}]`;
  }
  const bad = perExample.findIndex((size, k) => !dimFits(info.shape?.[k + 1], size));
  return bad < 0
    ? null
    : `${what} '${info.name}' has shape [${info.shape}], the manifest implies [batch, ${perExample}]`;
}

/** What is wrong between one member's declaration and its graph (empty when they agree). */
export function memberGraphProblems(manifest: EnsembleManifest, member: MemberSpec, session: ModelSession): string[] {
  const problems: string[] = [];
  const input = session.inputs.find((v) => v.name === member.inputName);
  const output = session.outputs.find((v) => v.name === member.outputName);
  if (!input) problems.push(`the graph has no input '${member.inputName}' (inputs: ${session.inputNames.join(', ')})`);
  if (!output) {
    problems.push(`the graph has no output '${member.outputName}' (outputs: ${session.outputNames.join(', ')})`);
  }
  const extra = session.inputNames.filter((n) => n !== member.inputName);
  if (extra.length > 0) problems.push(`the graph also needs inputs ${extra.join(', ')}, which nothing feeds`);
  const fed = fedTensor(member.featurizer, manifest.input);
  if (input && fed) {
    if (input.dtype && input.dtype !== fed.dtype) {
      problems.push(`input '${input.name}' takes ${input.dtype}, the featurizer produces ${fed.dtype}`);
    }
    const bad = shapeProblem('input', input, fed.shape);
    if (bad) problems.push(bad);
  }
  if (output) {
    if (output.dtype && output.dtype !== 'float32') {
      problems.push(`output '${output.name}' is ${output.dtype}; members must output float32`);
    }
    const bad = shapeProblem('output', output, [manifest.labels.length]);
    if (bad) problems.push(`${bad} (one value per label)`);
  }
  return problems;
}

/**
 * Loads every member through `sessions` (which checks each model's sha256) and checks names,
 * dtypes and shapes against the featurizers and labels. A manifest that could never answer is
 * refused at publish as `invalid_manifest`, listing each member's problems.
 */
export async function checkManifestGraphs(manifest: EnsembleManifest, sessions: SessionSource): Promise<void> {
  const found: { member: string; problems: string[] }[] = [];
  for (const member of manifest.members) {
    let problems: string[];
    try {
      problems = memberGraphProblems(manifest, member, await sessions.session(member));
    } catch (e) {
      problems = [`cannot load ${member.model.key}: ${e instanceof Error ? e.message : String(e)}`];
    }
    if (problems.length > 0) found.push({ member: member.id, problems });
  }
  if (found.length === 0) return;
  const first = found[0] as { member: string; problems: string[] };
  throw new ChorusError('invalid_manifest', `member '${first.member}': ${first.problems.join('; ')}`, {
    details: { members: found },
  });
}
