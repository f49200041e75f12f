import type { Family, HashedNgramFeaturizer, MemberSpec } from '../schema';

/** The families lib/train can (re)train from a featurizer and hyper-parameters. */
export const TRAINABLE_FAMILIES = ['logreg', 'naive-bayes', 'fasttext'] as const satisfies readonly Family[];
export type TrainableFamily = (typeof TRAINABLE_FAMILIES)[number];

/** A manifest member that jobs can retrain: a trainable family over hashed n-grams, with its hyper-parameters. */
export type TrainableMember = MemberSpec & {
  family: TrainableFamily;
  featurizer: HashedNgramFeaturizer;
  training: NonNullable<MemberSpec['training']>;
};

export function isTrainableFamily(family: Family | undefined): family is TrainableFamily {
  return (TRAINABLE_FAMILIES as readonly (Family | undefined)[]).includes(family);
}

/** Whether a member can be retrained (stacking folds, grown members); uploaded models cannot. */
export function isTrainable(member: MemberSpec): member is TrainableMember {
  return (
    isTrainableFamily(member.family) && member.featurizer.kind === 'hashed-ngrams' && member.training !== undefined
  );
}
