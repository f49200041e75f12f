import { ChorusError, isChorusError } from '../errors';
import { softmax } from '../fusion';
import type { MemberSpec } from '../schema';
import type { OutputTensor } from './backend';
import type { SessionSource } from './engine';
import { runBatched } from './fixed-batch';
import type { Featurizer } from './inputs';

/** One member's answers for a call's inputs. */
export interface MemberResult {
  member: MemberSpec;
  /** per example, a distribution over the manifest's labels (uniform where it abstained) */
  probs: Float64Array[];
  /** per example, whether the member abstained (no evidence in its view) */
  abstained: boolean[];
  /** abstained for every example, so it was not run */
  skipped: boolean;
}

export function describe(e: unknown): string {
  if (isChorusError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export async function runMember(
  member: MemberSpec,
  featurizer: Featurizer,
  sessions: SessionSource,
  n: number,
  classes: number,
): Promise<MemberResult> {
  const abstained = await featurizer.abstentions(member);
  if (abstained.length > 0 && abstained.every(Boolean)) {
    // Not run, not charged; its session is still loaded (and so verified) so that a member whose
    // model is missing or damaged counts as degraded, as it would on any other input.
    await sessions.session(member);
    const uniform = () => new Float64Array(classes).fill(1 / classes);
    return { member, probs: Array.from({ length: n }, uniform), abstained, skipped: true };
  }
  const [session, feeds] = await Promise.all([sessions.session(member), featurizer.feedsFor(member)]);
  const out = await runBatched(session, feeds, member.outputName, n);
  const probs = distributionsOf(member, out, n, classes);
  return { member, probs, abstained, skipped: false };
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** One distribution over the labels per example, from the member's output as it declares it. */
function distributionsOf(member: MemberSpec, out: OutputTensor, n: number, classes: number): Float64Array[] {
  if (member.output === 'positive-probability' || member.output === 'positive-logit') {
    // one value per example, for the second label: [n] or [n, 1]
    const oneColumn = (out.dims.length === 1 || (out.dims.length === 2 && out.dims[1] === 1)) && out.dims[0] === n;
    if (!oneColumn) throw new ChorusError('shape_mismatch', `output dims [${out.dims}], expected [${n}] or [${n}, 1]`);
    return Array.from(out.data.subarray(0, n), (v, i) => {
      const p = member.output === 'positive-logit' ? sigmoid(v) : v;
      if (!Number.isFinite(v) || p < 0 || p > 1) {
        throw new ChorusError('not_finite', `output row ${i} is not a probability (${v})`);
      }
      return Float64Array.of(1 - p, p);
    });
  }
  if (out.dims.length !== 2 || out.dims[0] !== n || out.dims[1] !== classes) {
    throw new ChorusError('shape_mismatch', `output dims [${out.dims}], expected [${n}, ${classes}]`);
  }
  const probs: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = out.data.subarray(i * classes, (i + 1) * classes);
    const p = member.output === 'logits' ? softmax(row) : Float64Array.from(row);
    let sum = 0;
    for (const v of p) {
      if (!Number.isFinite(v) || v < 0) throw new ChorusError('not_finite', `output row ${i} is not a distribution`);
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) throw new ChorusError('invalid_argument', `output row ${i} sums to ${sum}`);
    probs.push(p);
  }
  return probs;
}
