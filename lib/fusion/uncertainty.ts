import type { Uncertainty } from '../schema';
import { argmax, entropy } from './math';
import type { MemberProbabilities } from './validate';

/**
 * Uncertainty of one fused answer: entropy of the fused distribution, margin between its top two
 * classes (for a hard vote, the vote-share margin), and the fraction of members whose argmax
 * differs from the answered label (`label`, default the fused argmax). Pass only the members that
 * answered (not those that abstained).
 */
export function uncertaintyOf(
  fused: ArrayLike<number>,
  members: MemberProbabilities,
  label = argmax(fused),
): Uncertainty {
  let top1 = Number.NEGATIVE_INFINITY;
  let top2 = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < fused.length; k++) {
    const v = fused[k] as number;
    if (v > top1) {
      top2 = top1;
      top1 = v;
    } else if (v > top2) {
      top2 = v;
    }
  }
  let differing = 0;
  for (const p of members) if (argmax(p) !== label) differing++;
  return {
    entropy: Math.max(0, entropy(fused)),
    margin: Math.min(1, Math.max(0, top1 - top2)),
    disagreement: members.length === 0 ? 0 : differing / members.length,
  };
}
