/**
 * The zoo's transformer member (issue: bring your own transformer). Nothing here trains: the tiny
 * BERT in models/transformer was trained once in PyTorch on this split's train rows (make_bert.py,
 * committed with its tokenizer.json). The build compresses it to int8 with the `compress` job's
 * recipe (quantizeOnnxModel), scores fp32 and int8 through the serving engine (tokenizer
 * featurizer, three graph inputs), and fuses it with the trained members: an ensemble with it
 * beside the one without. It cannot be retrained per fold, so stacking takes it `frozen`: its
 * answers on the train rows it was fitted on stand in for out-of-fold ones (optimistic; the
 * meta-learner is still chosen and measured on held-out rows).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { SessionCache } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest, MemberSpec, MetaLearner, TokenizerFeaturizer } from '../../lib/schema';
import { MemoryBlobStore, sha256Hex, tokenizerKey } from '../../lib/store';
import { classificationMetrics, Evaluator, quantizeOnnxModel, storeModel, type Variant } from '../../lib/train';
import type { CorpusMessage } from '../corpus';
import { BODY_MIN_TOKENS, type ByoDefinition, zooManifestHead } from '../zoo';
import { type BuiltMember, type BuiltVariant, SERVED_VARIANT, type TrainedMember, trainPrior } from './members';
import { type SliceName, sliceDatasets } from './slices';
import { type Split, valOf } from './split';
import { stackZoo } from './stacking';

const SOURCE = new URL('../transformer/', import.meta.url);

export const TRANSFORMER: ByoDefinition = {
  id: 'body-bert',
  description:
    'tiny BERT (2 encoder layers, hidden 64, [CLS] pooling) over the body view, trained in PyTorch on train (models/transformer); tokenizer featurizer, first 256 ids',
  costUnits: 20,
  abstain: { minTokens: BODY_MIN_TOKENS },
  bodyOnly: true,
};

const MAX_LENGTH = 256;

/** The member as a manifest serves it: the tokenizer featurizer over the body and the graph's three inputs. */
export function transformerMemberSpec(
  model: MemberSpec['model'],
  variant: Variant,
  tokenizer: TokenizerFeaturizer['tokenizer'],
): MemberSpec {
  return {
    id: TRANSFORMER.id,
    model,
    variant,
    featurizer: {
      kind: 'tokenizer',
      field: 'message',
      view: 'body',
      tokenizer,
      maxLength: MAX_LENGTH,
      truncation: 'right',
      padding: 'longest',
      padId: 0,
    },
    inputs: { input_ids: 'input_ids', attention_mask: 'attention_mask', token_type_ids: 'token_type_ids' },
    outputName: 'logits',
    output: 'logits',
    costUnits: TRANSFORMER.costUnits,
    abstain: TRANSFORMER.abstain,
  };
}

export interface BuiltTransformer {
  member: BuiltMember;
  /** per robustness slice, the served variant's answers */
  slices: Record<SliceName, ProbMatrix>;
  /** the served variant on the train rows (its own training data), for frozen stacking */
  train: ProbMatrix;
}

/** int8 through the compress recipe, written to `outDir`; both variants scored through the serving engine. */
export async function buildTransformer(
  split: Split,
  outDir: string,
  log: (...a: unknown[]) => void,
): Promise<BuiltTransformer> {
  const fp32 = new Uint8Array(await readFile(new URL('bert-tiny.fp32.onnx', SOURCE)));
  const tokenizerBytes = new Uint8Array(await readFile(new URL('tokenizer.json', SOURCE)));
  const int8 = quantizeOnnxModel(fp32).bytes;
  await writeFile(join(outDir, `${TRANSFORMER.id}.int8.onnx`), int8);
  const store = new MemoryBlobStore();
  const tokenizerSha = await sha256Hex(tokenizerBytes);
  const tokenizer = { key: tokenizerKey(tokenizerSha), sha256: tokenizerSha, bytes: tokenizerBytes.length };
  await store.put(tokenizer.key, tokenizerBytes);
  const refs = { fp32: await storeModel(store, fp32), int8: await storeModel(store, int8) };
  log(`${TRANSFORMER.id}: fp32 ${fp32.length} B, int8 ${int8.length} B (compress recipe)`);

  const { corpus } = split;
  const rawOf = (rows: readonly number[]) => rows.map((r) => ({ message: (corpus[r] as CorpusMessage).raw }));
  const scoring: EnsembleManifest = {
    ...zooManifestHead(),
    members: (['fp32', 'int8'] as const).map((v) => ({
      ...transformerMemberSpec(refs[v], v, tokenizer),
      id: `${TRANSFORMER.id}.${v}`,
    })),
    fusion: { strategy: 'soft', temperature: 1, quorum: 1, prior: trainPrior(split) },
    provenance: { createdAt: new Date(0).toISOString() },
  };
  const evaluator = new Evaluator(new SessionCache(createNodeBackend(), store, 1 << 30));
  const [p32, p8] = await evaluator.members(scoring, { hash: 'zoo-scored-rows', inputs: rawOf(split.scored) });
  const served: EnsembleManifest = {
    ...scoring,
    members: [transformerMemberSpec(refs[SERVED_VARIANT], SERVED_VARIANT, tokenizer)],
  };
  const slices = {} as Record<SliceName, ProbMatrix>;
  for (const { name, dataset } of sliceDatasets(split)) {
    log(`scoring slice ${name} (${TRANSFORMER.id})`);
    slices[name] = (await evaluator.members(served, dataset))[0] as ProbMatrix;
  }
  log(`scoring train rows (${TRANSFORMER.id}, for frozen stacking)`);
  const [train] = await evaluator.members(served, { hash: 'zoo-train-rows', inputs: rawOf(split.train) });
  const variant = (v: Variant, probs: ProbMatrix | undefined): BuiltVariant => ({
    bytes: v === 'fp32' ? fp32 : int8,
    inputName: 'input_ids',
    outputName: 'logits',
    sha256: refs[v].sha256,
    model: refs[v],
    spec: transformerMemberSpec(refs[v], v, tokenizer),
    probs: probs as ProbMatrix,
  });
  const variants = { fp32: variant('fp32', p32), int8: variant('int8', p8) };
  const validationAccuracy = classificationMetrics(valOf(split, variants[SERVED_VARIANT].probs), split.yVal).accuracy;
  return { member: { def: TRANSFORMER, variants, validationAccuracy }, slices, train: train as ProbMatrix };
}

/**
 * The zoo's stacking recipe (models/steps/stacking.ts) with the transformer added as a frozen
 * member after the retrained ones: the meta-learner of the ensemble with it.
 */
export function stackWithTransformer(
  split: Pick<Split, 'corpus' | 'train' | 'yOf'>,
  members: readonly TrainedMember[],
  bert: BuiltTransformer,
  log: (...a: unknown[]) => void,
): Promise<MetaLearner> {
  return stackZoo(split, members, log, [{ kind: 'frozen', id: TRANSFORMER.id, probs: bert.train }]);
}
