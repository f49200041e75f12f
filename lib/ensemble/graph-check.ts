import { ChorusError } from '../errors';
import { featurizerFor } from '../features';
import type { EnsembleManifest, MemberSpec } from '../schema';
import type { InputTensor, ModelSession, ValueInfo } from './backend';
import type { SessionSource } from './engine';
import { runBatched } from './fixed-batch';
import { memberFeeds } from './inputs';

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * A declared dim agrees with a required size when it is symbolic or equal; a size the batch sets
 * (`null`: padded to the longest row) needs a symbolic dim.
 */
const dimFits = (declared: number | string | undefined, size: number | null) =>
  typeof declared !== 'number' || declared < 0 || declared === size;

function shapeProblem(what: string, info: ValueInfo, perExample: readonly (number | null)[]): string | null {
  if (!info.shape) return null;
  if (info.shape.length !== perExample.length + 1) {
    return `${what} '${info.name}' has rank ${info.shape.length}, the manifest implies [batch, ${dims(perExample)}]`;
  }
  const bad = perExample.findIndex((size, k) => !dimFits(info.shape?.[k + 1], size));
  return bad < 0
    ? null
    : `${what} '${info.name}' has shape [${info.shape}], the manifest implies [batch, ${dims(perExample)}]`;
}

const dims = (shape: readonly (number | null)[]) => shape.map((d) => d ?? 'sequence').join(',');

/** What is wrong between one member's declaration and its graph (empty when they agree). */
export function memberGraphProblems(manifest: EnsembleManifest, member: MemberSpec, session: ModelSession): string[] {
  const problems: string[] = [];
  const feeds = Object.entries(memberFeeds(member));
  const output = session.outputs.find((v) => v.name === member.outputName);
  for (const [graphInput] of feeds) {
    if (!session.inputNames.includes(graphInput)) {
      problems.push(`the graph has no input '${graphInput}' (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  if (!output) {
    problems.push(`the graph has no output '${member.outputName}' (outputs: ${session.outputNames.join(', ')})`);
  }
  const extra = session.inputNames.filter((n) => !feeds.some(([graphInput]) => graphInput === n));
  if (extra.length > 0) problems.push(`the graph also needs inputs ${extra.join(', ')}, which nothing feeds`);
  const field = manifest.input.fields[member.featurizer.field];
  const made = field ? featurizerFor(member.featurizer).outputs(member.featurizer, field) : null;
  for (const [graphInput, name] of feeds) {
    const input = session.inputs.find((v) => v.name === graphInput);
    const fed = made?.[name];
    if (made && !fed) problems.push(`the featurizer makes no '${name}' (it makes ${Object.keys(made).join(', ')})`);
    if (!input || !fed) continue;
    if (input.tensor === false) {
      problems.push(`input '${input.name}' is not a tensor (a map or a sequence); members take tensors`);
      continue;
    }
    if (input.dtype && input.dtype !== fed.dtype) {
      problems.push(`input '${input.name}' takes ${input.dtype}, the featurizer produces ${fed.dtype}`);
    }
    const bad = shapeProblem('input', input, fed.shape);
    if (bad) problems.push(bad);
  }
  if (output?.tensor === false) {
    // a ZipMap that makes a graph output is served as its input tensor (zipmap.ts); one that
    // feeds other nodes, or any other sequence or map, cannot be read from JavaScript
    problems.push(
      `output '${output.name}' is not a tensor (a sequence or a map): name a float tensor output (one value per label)`,
    );
  } else if (output) {
    if (output.dtype && output.dtype !== 'float32' && output.dtype !== 'float64') {
      problems.push(`output '${output.name}' is ${output.dtype}; members must output float32 or float64`);
    }
    if (member.output.startsWith('positive-')) {
      // [batch] or [batch, 1]: one value per example
      const bad = output.shape ? shapeProblem('output', output, output.shape.length === 1 ? [] : [1]) : null;
      if (bad) problems.push(`${bad} (one value per example, for '${manifest.labels[1]}')`);
    } else {
      const bad = shapeProblem('output', output, [manifest.labels.length]);
      if (bad) problems.push(`${bad} (one value per label)`);
      const named = output.classLabels;
      if (named && named.join('\u0000') !== manifest.labels.join('\u0000')) {
        problems.push(
          `output '${output.name}' gives its classes in the order [${named.join(', ')}] (its ZipMap's labels), the manifest's labels are [${manifest.labels.join(', ')}]`,
        );
      }
    }
  }
  return problems;
}

/**
 * A sparse member's graph gathers one weight row per bucket id, and how many rows its table has is
 * not in the graph's declared shapes (ids are [batch, non-zeros]). So it runs once on the first and
 * the last bucket the featurizer can make: a table smaller than `buckets` fails here, at publish,
 * instead of every request whose message hashes past its end.
 */
async function sparseTableProblem(member: MemberSpec, session: ModelSession): Promise<string | null> {
  const f = member.featurizer;
  if (f.kind !== 'hashed-ngrams' || f.layout !== 'sparse') return null;
  const feeds: Record<string, InputTensor> = {};
  for (const [graphInput, name] of Object.entries(memberFeeds(member))) {
    feeds[graphInput] =
      name === 'ids'
        ? { dtype: 'int64', data: BigInt64Array.of(0n, BigInt(f.buckets - 1)), dims: [1, 2] }
        : { dtype: 'float32', data: Float32Array.of(1, 1), dims: [1, 2] };
  }
  try {
    const out = await runBatched(session, feeds, member.outputName, 1);
    if (out.data.every(Number.isFinite)) return null;
    return `the graph answers non-finite values for buckets 0 and ${f.buckets - 1}`;
  } catch (e) {
    return `the graph cannot take bucket ${f.buckets - 1} (the featurizer makes ids below buckets = ${f.buckets}): ${reason(e)}`;
  }
}

/**
 * Loads every member through `sessions` (which checks each model's sha256) and checks names,
 * dtypes and shapes against the featurizers and labels (a sparse member's weight table by one
 * run). A manifest that could never answer is
 * refused at publish as `invalid_manifest`, listing each member's problems.
 */
export async function checkManifestGraphs(manifest: EnsembleManifest, sessions: SessionSource): Promise<void> {
  const found: { member: string; problems: string[] }[] = [];
  for (const member of manifest.members) {
    let problems: string[];
    try {
      const session = await sessions.session(member);
      problems = memberGraphProblems(manifest, member, session);
      const table = problems.length === 0 ? await sparseTableProblem(member, session) : null;
      if (table) problems.push(table);
    } catch (e) {
      problems = [`cannot load ${member.model.key}: ${reason(e)}`];
    }
    const f = member.featurizer;
    if (f.kind === 'tokenizer') {
      // loaded (and so sha256-checked and parsed) now, not by the first request
      try {
        if (!sessions.tokenizer) throw new Error('this runtime has no tokenizer store');
        await sessions.tokenizer(f.tokenizer);
      } catch (e) {
        problems.push(`cannot load tokenizer ${f.tokenizer.key}: ${reason(e)}`);
      }
    }
    if (problems.length > 0) found.push({ member: member.id, problems });
  }
  if (found.length === 0) return;
  const first = found[0] as { member: string; problems: string[] };
  throw new ChorusError('invalid_manifest', `member '${first.member}': ${first.problems.join('; ')}`, {
    details: { members: found },
  });
}
