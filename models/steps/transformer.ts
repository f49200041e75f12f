/**
 * The zoo's transformer member (issue: bring your own transformer). Nothing here trains: the tiny
 * BERT in models/transformer was trained once in PyTorch on this split's train rows (make_bert.py,
 * committed with its tokenizer.json). The build compresses it to int8 with the `compress` job's
 * recipe (quantizeOnnxModel), scores fp32 and int8 through the serving engine (tokenizer
 * featurizer, three graph inputs), and fuses it with the trained members: an ensemble with it
 * beside the one without. It cannot be retrained per fold, and its answers on the train rows it
 * was fitted on are in-sample, so the stacking of the ensemble with it is fitted on validation
 * over every served member (stackOnValidation), its validation answers cross-fitted.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { SessionCache } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest, MemberSpec, TokenizerFeaturizer } from '../../lib/schema';
import { MemoryBlobStore, sha256Hex, tokenizerKey } from '../../lib/store';
import { classificationMetrics, Evaluator, quantizeOnnxModel, storeModel, type Variant } from '../../lib/train';
import type { CorpusMessage } from '../corpus';
import { BODY_MIN_TOKENS, type ByoDefinition, zooManifestHead } from '../zoo';
import { type BuiltMember, type BuiltVariant, fitPrior, SERVED_VARIANT } from './members';
import { type SliceName, sliceDatasets } from './slices';
import { type Split, valOf } from './split';

const SOURCE = new URL('../transformer/', import.meta.url);

export const TRANSFORMER: ByoDefinition = {
  id: 'body-bert',
  description:
    'tiny BERT (2 encoder layers, hidden 64, [CLS] pooling) over the body view, trained in PyTorch on train (models/transformer); tokenizer featurizer, first 256 ids',
  costUnits: 20,
  abstain: { minTokens: BODY_MIN_TOKENS },
  bodyOnly: true,
  bodyEvidence: true,
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
    fusion: { strategy: 'soft', temperature: 1, quorum: 1, prior: fitPrior(split) },
    provenance: { createdAt: new Date(0).toISOString() },
  };
  const evaluator = new Evaluator(new SessionCache(createNodeBackend(), store, 1 << 30));
  const [p32, p8] = await evaluator.members(scoring, { hash: 'zoo-scored-rows', inputs: rawOf(split.scored) });
  const served: EnsembleManifest = {
    ...scoring,
    members: [transformerMemberSpec(refs[SERVED_VARIANT], SERVED_VARIANT, tokenizer)],
  };
  const slices = {} as Record<SliceName, ProbMatrix>;
  for (const { name, dataset } of sliceDatasets(corpus, split.scored, 'scored')) {
    log(`scoring slice ${name} (${TRANSFORMER.id})`);
    slices[name] = (await evaluator.members(served, dataset))[0] as ProbMatrix;
  }
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
  return { member: { def: TRANSFORMER, variants, validationAccuracy }, slices };
}
