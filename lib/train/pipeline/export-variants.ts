import type { FeaturizerSpec, MemberSpec } from '../../schema';
import { type BlobStore, modelKey, sha256Hex } from '../../store';
import type { TrainedModel } from '../model';
import { type ExportedModel, exportOnnx } from '../onnx';

export type ModelRef = MemberSpec['model'];
export type Variant = 'fp32' | 'int8';

export interface ExportedVariant extends ExportedModel {
  sha256: string;
  /** where the bytes live (or would live) in the bucket: content-addressed */
  model: ModelRef;
}

/** Stores a model content-addressed (immutable; an orphan from a failed job is harmless). */
export async function storeModel(store: BlobStore, bytes: Uint8Array): Promise<ModelRef> {
  const sha256 = await sha256Hex(bytes);
  const key = modelKey(sha256);
  if (!(await store.head(key))) await store.put(key, bytes, { contentType: 'application/octet-stream' });
  return { key, sha256, bytes: bytes.length };
}

/**
 * Exports a trained model as fp32 and int8 ONNX with each file's sha256 and bucket reference, and
 * stores both content-addressed when a store is given. With the member's `featurizer`, the graph
 * takes that featurizer's outputs. Used by the zoo build and every job that
 * makes models.
 */
export async function exportVariants(
  model: TrainedModel,
  options: { labels: readonly string[]; docString?: string; featurizer?: FeaturizerSpec },
  store?: BlobStore,
): Promise<Record<Variant, ExportedVariant>> {
  const { featurizer, ...rest } = options;
  // the graph takes what the member's featurizer makes (a sparse hashed one: ids + values)
  const sparse = featurizer?.kind === 'hashed-ngrams' && featurizer.layout === 'sparse';
  const one = async (variant: Variant): Promise<ExportedVariant> => {
    const exported = exportOnnx(model, { ...rest, variant, ...(sparse ? { layout: 'sparse' as const } : {}) });
    const sha256 = await sha256Hex(exported.bytes);
    const ref = { key: modelKey(sha256), sha256, bytes: exported.bytes.length };
    return { ...exported, sha256, model: store ? await storeModel(store, exported.bytes) : ref };
  };
  return { fp32: await one('fp32'), int8: await one('int8') };
}

/**
 * The member pointed at an exported graph: its model and variant, and the graph's own input
 * naming, output name and output kind (a sparse export takes `ids` + `values` whatever the member
 * was fed before; every export answers soft-maxed probabilities, [batch, labels]), so a refit
 * member always matches the graph it now runs.
 */
export function withExport(member: MemberSpec, variant: Variant, exported: ExportedVariant): MemberSpec {
  const { inputName: _name, inputs: _inputs, ...rest } = member;
  return {
    ...rest,
    model: exported.model,
    variant,
    ...(exported.inputs ? { inputs: exported.inputs } : { inputName: exported.inputName }),
    outputName: exported.outputName,
    output: 'probabilities',
  };
}
