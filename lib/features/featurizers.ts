/**
 * The featurizer kinds, one table entry each: what a kind produces (names, dtypes, per-example
 * shapes, so publish can check a member's graph) and how it builds those tensors for a batch.
 * A new kind is a schema in lib/schema/featurizer.ts plus one entry here.
 */
import { ChorusError } from '../errors';
import type { FeatureDtype, FeaturizerSpec, FieldSpec, TensorValue } from '../schema';
import { featurizeRows } from './hashed';
import { featurizeSparseRows } from './sparse-rows';
import type { FeatureTensor } from './tensor';
import { tokenizeBatch } from './tokenizer';
import type { TokenizerSource } from './tokenizer-source';

/** One output as a graph input must take it; a `null` dim is the batch's own (padding to the longest row). */
export interface FeatureShape {
  dtype: FeatureDtype;
  shape: (number | null)[];
}

/** What a featurizer reads for one batch, prepared by the engine (e-mails parsed once per request). */
export interface FeaturizeBatch {
  field: FieldSpec;
  /** per example, the text of the spec's view (text fields only) */
  texts(): Promise<string[]>;
  /** per example, the tensor value (tensor fields only) */
  values(): TensorValue[];
  tokenizers?: TokenizerSource;
}

export interface FeaturizerKind<S extends FeaturizerSpec> {
  /** its outputs by name; null when the spec cannot read `field` */
  outputs(spec: S, field: FieldSpec): Record<string, FeatureShape> | null;
  build(spec: S, batch: FeaturizeBatch): Promise<Record<string, FeatureTensor>>;
}

type Table = { [K in FeaturizerSpec['kind']]: FeaturizerKind<Extract<FeaturizerSpec, { kind: K }>> };

export const FEATURIZERS: Readonly<Table> = Object.freeze({
  'hashed-ngrams': {
    outputs(f, field): Record<string, FeatureShape> | null {
      if (field.type !== 'text') return null;
      if (f.layout === 'sparse')
        return { ids: { dtype: 'int64', shape: [null] }, values: { dtype: 'float32', shape: [null] } };
      return {
        features:
          f.output === 'ids' ? { dtype: 'int64', shape: [f.maxIds ?? 0] } : { dtype: 'float32', shape: [f.buckets] },
      };
    },
    async build(f, batch): Promise<Record<string, FeatureTensor>> {
      if (batch.field.type !== 'text') throw new ChorusError('invalid_manifest', `field '${f.field}' is not text`);
      const texts = await batch.texts();
      if (f.layout === 'sparse') {
        const { ids, values, width } = featurizeSparseRows(texts, f);
        const dims = [texts.length, width];
        return { ids: { dtype: 'int64', data: ids, dims }, values: { dtype: 'float32', data: values, dims } };
      }
      // every row written in place into the one batch array (no per-row array, no copy)
      const data = featurizeRows(texts, f);
      const dims = [texts.length, data.length / Math.max(1, texts.length)];
      return {
        features: data instanceof BigInt64Array ? { dtype: 'int64', data, dims } : { dtype: 'float32', data, dims },
      };
    },
  },
  tensor: {
    outputs: (_f, field) =>
      field.type === 'tensor' ? { features: { dtype: field.dtype, shape: [...field.shape] } } : null,
    async build(f, batch) {
      const field = batch.field;
      if (field.type !== 'tensor') throw new ChorusError('invalid_manifest', `field '${f.field}' is not a tensor`);
      const values = batch.values();
      const n = values.length;
      const size = field.shape.reduce((a, b) => a * b, 1);
      const flat = values.flatMap((v) => v.data);
      const dims = [n, ...field.shape];
      if (field.dtype === 'float32') return { features: { dtype: 'float32', data: Float32Array.from(flat), dims } };
      if (field.dtype === 'int32') return { features: { dtype: 'int32', data: Int32Array.from(flat), dims } };
      if (field.dtype === 'float64') return { features: { dtype: 'float64', data: Float64Array.from(flat), dims } };
      const data = BigInt64Array.from(flat.slice(0, n * size), (v) => BigInt(v));
      return { features: { dtype: 'int64', data, dims } };
    },
  },
  tokenizer: {
    outputs(f, field) {
      if (field.type !== 'text') return null;
      const shape = { dtype: 'int64', shape: [f.padding === 'max_length' ? f.maxLength : null] } as const;
      return {
        input_ids: { ...shape, shape: [...shape.shape] },
        attention_mask: { ...shape, shape: [...shape.shape] },
        token_type_ids: { ...shape, shape: [...shape.shape] },
      };
    },
    async build(f, batch) {
      if (batch.field.type !== 'text') throw new ChorusError('invalid_manifest', `field '${f.field}' is not text`);
      if (!batch.tokenizers) throw new ChorusError('invalid_manifest', 'this runtime has no tokenizer store');
      const [tokenizer, texts] = await Promise.all([batch.tokenizers.tokenizer(f.tokenizer), batch.texts()]);
      return tokenizeBatch(tokenizer, texts, f);
    },
  },
  text: {
    outputs: (_f, field) => (field.type === 'text' ? { features: { dtype: 'string', shape: [1] } } : null),
    async build(f, batch) {
      if (batch.field.type !== 'text') throw new ChorusError('invalid_manifest', `field '${f.field}' is not text`);
      const texts = (await batch.texts()).map((t) => cStringSafe(cutText(t, f.maxLength)));
      return { features: { dtype: 'string', data: texts, dims: [texts.length, 1] } };
    },
  },
} satisfies Table);

/**
 * The runtimes take each text as a C string of UTF-8: a NUL would end it early and a lone
 * surrogate (valid in JSON) is no UTF-8 at all (onnxruntime-web's StringNormalizer fails the run),
 * so both become U+FFFD, which a token pattern reads as a separator, as scikit-learn would.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const cStringSafe = (text: string): string =>
  text.replaceAll(String.fromCharCode(0), '\ufffd').replace(LONE_SURROGATE, '\ufffd');

/** The first `max` UTF-16 units of `text`, not ending in half of a surrogate pair. */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The table entry for a spec's kind. */
export function featurizerFor<S extends FeaturizerSpec>(spec: S): FeaturizerKind<S> {
  // The table is indexed by kind, so the entry for spec.kind takes this very spec type.
  return FEATURIZERS[spec.kind] as unknown as FeaturizerKind<S>;
}
