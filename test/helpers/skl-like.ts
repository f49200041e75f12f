/**
 * ONNX graphs shaped as skl2onnx writes a scikit-learn LogisticRegression (ai.onnx.ml
 * LinearClassifier → label + probability tensor, optionally ZipMap'd into a sequence of maps), so
 * the tests can check what Chorus does with models exported by that tool without Python here.
 */
import onnxProto from 'onnx-proto';
import type { EnsembleManifestInput, MemberSpec } from '../../lib/schema';
import { valueInfo } from '../../lib/train/onnx';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

function attr(name: string, value: number[] | string | string[], kind: 'floats' | 'ints' | 'string' | 'strings') {
  const A = onnx.AttributeProto.AttributeType;
  if (kind === 'strings') {
    const strings = (value as string[]).map((v) => new TextEncoder().encode(v));
    return onnx.AttributeProto.create({ name, strings, type: A.STRINGS });
  }
  if (kind === 'string')
    return onnx.AttributeProto.create({ name, s: new TextEncoder().encode(value as string), type: A.STRING });
  if (kind === 'floats') return onnx.AttributeProto.create({ name, floats: value as number[], type: A.FLOATS });
  return onnx.AttributeProto.create({ name, ints: (value as number[]).map(Number), type: A.INTS });
}

/** The model around `graph`, importing the default and ML domains (and `more`, version 1) as skl2onnx does. */
function skl2onnxModel(graph: InstanceType<typeof onnx.GraphProto>, more: string[]): Uint8Array {
  const opsetImport = [
    onnx.OperatorSetIdProto.create({ domain: '', version: 15 }),
    ...['ai.onnx.ml', ...more].map((domain) => onnx.OperatorSetIdProto.create({ domain, version: 1 })),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'skl2onnx',
    producerVersion: '1.16.0',
    opsetImport,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

const sequenceOfMapsInfo = (name: string, keyType: number) =>
  onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      sequenceType: onnx.TypeProto.Sequence.create({
        elemType: onnx.TypeProto.create({
          mapType: onnx.TypeProto.Map.create({
            keyType,
            valueType: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: T.FLOAT }) }),
          }),
        }),
      }),
    }),
  });

/**
 * A softmax linear classifier over `coef` [classes][features] + `intercept`, as skl2onnx exports a
 * multinomial LogisticRegression: input `float_input` [N, F]; outputs `output_label` (int64 [N],
 * or string with `classLabels`) and `output_probability` ([N, C] float, or with `zipmap` a
 * sequence of {class: p} maps, as skl2onnx writes by default).
 */
export function sklearnLikeLogReg(
  coef: number[][],
  intercept: number[],
  options: { zipmap: boolean; classLabels?: string[]; double?: boolean },
): Uint8Array {
  const classes = coef.length;
  // `double`: exported with DoubleTensorType (float64 input); without ZipMap the probabilities
  // leave as float64 too, as a double-precision graph's would
  const double = options.double === true;
  // LinearClassifier names integer labels classlabels_ints, ZipMap classlabels_int64s
  const labels = (node: 'classifier' | 'zipmap') =>
    options.classLabels
      ? attr('classlabels_strings', options.classLabels, 'strings')
      : attr(
          node === 'classifier' ? 'classlabels_ints' : 'classlabels_int64s',
          Array.from({ length: classes }, (_, i) => i),
          'ints',
        );
  const features = coef[0]?.length ?? 0;
  const ml = 'ai.onnx.ml';
  const nodes = [
    onnx.NodeProto.create({
      opType: 'LinearClassifier',
      domain: ml,
      name: 'LinearClassifier',
      input: ['float_input'],
      output: ['label', 'probability_tensor'],
      attribute: [
        attr('coefficients', coef.flat(), 'floats'),
        attr('intercepts', intercept, 'floats'),
        labels('classifier'),
        attr('multi_class', [1], 'ints'),
        attr('post_transform', 'SOFTMAX', 'string'),
      ].map((a) =>
        a.name === 'multi_class'
          ? onnx.AttributeProto.create({ name: 'multi_class', i: 1, type: onnx.AttributeProto.AttributeType.INT })
          : a,
      ),
    }),
    onnx.NodeProto.create({ opType: 'Identity', name: 'label_out', input: ['label'], output: ['output_label'] }),
    options.zipmap
      ? onnx.NodeProto.create({
          opType: 'ZipMap',
          domain: ml,
          name: 'ZipMap',
          input: ['probability_tensor'],
          output: ['output_probability'],
          attribute: [labels('zipmap')],
        })
      : onnx.NodeProto.create({
          opType: double ? 'Cast' : 'Identity',
          name: 'prob_out',
          input: ['probability_tensor'],
          output: ['output_probability'],
          attribute: double
            ? [onnx.AttributeProto.create({ name: 'to', i: T.DOUBLE, type: onnx.AttributeProto.AttributeType.INT })]
            : [],
        }),
  ];
  const graph = onnx.GraphProto.create({
    name: 'sklearn-like',
    node: nodes,
    input: [valueInfo('float_input', double ? T.DOUBLE : T.FLOAT, ['N', features])],
    output: [
      valueInfo('output_label', options.classLabels ? T.STRING : T.INT64, ['N']),
      options.zipmap
        ? sequenceOfMapsInfo('output_probability', options.classLabels ? T.STRING : T.INT64)
        : valueInfo('output_probability', double ? T.DOUBLE : T.FLOAT, ['N', classes]),
    ],
  });
  return skl2onnxModel(graph, []);
}

/** What scikit-learn's predict_proba gives for a multinomial model: softmax(coef · x + intercept). */
export function softmaxOf(coef: number[][], intercept: number[], x: number[]): number[] {
  const z = coef.map((w, k) => w.reduce((s, v, j) => s + v * (x[j] as number), intercept[k] as number));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The one-member ensemble over a sklearnLikeLogReg graph of 4 features, as a user would publish it. */
export function sklearnManifest(
  name: string,
  model: MemberSpec['model'],
  labels: string[],
  outputName = 'output_probability',
  dtype: 'float32' | 'float64' = 'float32',
): EnsembleManifestInput {
  return {
    name,
    version: 1,
    task: 'classification',
    labels,
    input: { fields: { x: { type: 'tensor', dtype, shape: [4] } } },
    members: [
      {
        id: 'sk-logreg',
        model,
        featurizer: { kind: 'tensor', field: 'x' },
        inputName: 'float_input',
        outputName,
        output: 'probabilities',
      },
    ],
    fusion: { strategy: 'soft' },
    provenance: { createdAt: '2026-11-23T00:00:00.000Z', tool: 'skl2onnx' },
  };
}

/** What the text pipeline below computes, in JavaScript: p(second class) for one text. */
export function textPipelineProbability(
  pipeline: { vocabulary: string[]; idf: number[]; coef: number[]; intercept: number },
  text: string,
): number {
  const tf = pipeline.vocabulary.map(() => 0);
  for (const token of text.toLowerCase().match(/[a-z0-9_]+/g) ?? []) {
    const at = pipeline.vocabulary.indexOf(token);
    if (at >= 0) tf[at] = (tf[at] as number) + 1;
  }
  const x = tf.map((v, i) => v * (pipeline.idf[i] as number));
  const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0)) || 1;
  const z = x.reduce((s, v, i) => s + (v / norm) * (pipeline.coef[i] as number), pipeline.intercept);
  return 1 / (1 + Math.exp(-z));
}

/**
 * A text classifier shaped as skl2onnx exports a scikit-learn Pipeline(TfidfVectorizer,
 * LogisticRegression) by default: a string input `input` [N, 1]; Reshape, StringNormalizer
 * (lower case), Tokenizer (com.microsoft, a token regex), TfIdfVectorizer (term counts over the
 * vocabulary), Mul by the idf, Normalizer (L2), LinearClassifier (logistic, two string classes),
 * then ZipMap into `output_probability`.
 */
export function sklearnLikeTextPipeline(
  pipeline: { vocabulary: string[]; idf: number[]; coef: number[]; intercept: number },
  classLabels: [string, string],
  options: { batch?: number } = {},
): Uint8Array {
  const ml = 'ai.onnx.ml';
  const A = onnx.AttributeProto.AttributeType;
  const int = (name: string, i: number) => onnx.AttributeProto.create({ name, i, type: A.INT });
  const n = pipeline.vocabulary.length;
  const node = (opType: string, input: string[], output: string[], attribute: unknown[] = [], domain = '') =>
    onnx.NodeProto.create({ opType, input, output, attribute: attribute as never, domain });
  const nodes = [
    node('Reshape', ['input', 'flat_shape'], ['flat']),
    node('StringNormalizer', ['flat'], ['normalized'], [attr('case_change_action', 'LOWER', 'string')]),
    node(
      'Tokenizer',
      ['normalized'],
      ['tokens'],
      [
        int('mark', 0),
        int('mincharnum', 1),
        attr('pad_value', '#', 'string'),
        attr('tokenexp', '[a-z0-9_]+', 'string'),
      ],
      'com.microsoft',
    ),
    node(
      'TfIdfVectorizer',
      ['tokens'],
      ['tf'],
      [
        int('max_gram_length', 1),
        int('min_gram_length', 1),
        int('max_skip_count', 0),
        attr('mode', 'TF', 'string'),
        attr('ngram_counts', [0], 'ints'),
        attr(
          'ngram_indexes',
          Array.from({ length: n }, (_, i) => i),
          'ints',
        ),
        attr('pool_strings', pipeline.vocabulary, 'strings'),
      ],
    ),
    node('Mul', ['tf', 'idf'], ['tfidf']),
    node('Normalizer', ['tfidf'], ['features'], [attr('norm', 'L2', 'string')], ml),
    node(
      'LinearClassifier',
      ['features'],
      ['label', 'probability_tensor'],
      [
        attr('coefficients', [...pipeline.coef.map((w) => -w), ...pipeline.coef], 'floats'),
        attr('intercepts', [-pipeline.intercept, pipeline.intercept], 'floats'),
        attr('classlabels_strings', classLabels, 'strings'),
        attr('post_transform', 'LOGISTIC', 'string'),
      ],
      ml,
    ),
    node('Normalizer', ['probability_tensor'], ['probabilities'], [attr('norm', 'L1', 'string')], ml),
    node('Identity', ['label'], ['output_label']),
    node(
      'ZipMap',
      ['probabilities'],
      ['output_probability'],
      [attr('classlabels_strings', classLabels, 'strings')],
      ml,
    ),
  ];
  const graph = onnx.GraphProto.create({
    name: 'pipeline_tfidf',
    node: nodes,
    initializer: [
      onnx.TensorProto.create({ name: 'flat_shape', dataType: T.INT64, dims: [1], int64Data: [-1] }),
      onnx.TensorProto.create({ name: 'idf', dataType: T.FLOAT, dims: [n], floatData: pipeline.idf }),
    ],
    input: [valueInfo('input', T.STRING, [options.batch ?? 'N', 1])],
    output: [valueInfo('output_label', T.STRING, ['N']), sequenceOfMapsInfo('output_probability', T.STRING)],
  });
  return skl2onnxModel(graph, ['com.microsoft']);
}
