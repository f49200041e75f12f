/**
 * ONNX graphs shaped as skl2onnx writes a scikit-learn LogisticRegression (ai.onnx.ml
 * LinearClassifier → label + probability tensor, optionally ZipMap'd into a sequence of maps), so
 * the tests can check what Chorus does with models exported by that tool without Python here.
 */
import onnxProto from 'onnx-proto';
import { valueInfo } from '../../lib/train/onnx';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

function attr(name: string, value: number[] | string | bigint[], kind: 'floats' | 'ints' | 'string') {
  const A = onnx.AttributeProto.AttributeType;
  if (kind === 'string')
    return onnx.AttributeProto.create({ name, s: new TextEncoder().encode(value as string), type: A.STRING });
  if (kind === 'floats') return onnx.AttributeProto.create({ name, floats: value as number[], type: A.FLOATS });
  return onnx.AttributeProto.create({ name, ints: (value as number[]).map(Number), type: A.INTS });
}

const sequenceOfMapsInfo = (name: string) =>
  onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      sequenceType: onnx.TypeProto.Sequence.create({
        elemType: onnx.TypeProto.create({
          mapType: onnx.TypeProto.Map.create({
            keyType: T.INT64,
            valueType: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: T.FLOAT }) }),
          }),
        }),
      }),
    }),
  });

/**
 * A softmax linear classifier over `coef` [classes][features] + `intercept`, as skl2onnx exports a
 * multinomial LogisticRegression: input `float_input` [N, F]; outputs `output_label` (int64 [N])
 * and `output_probability` ([N, C] float, or with `zipmap` a sequence of {class: p} maps).
 */
export function sklearnLikeLogReg(coef: number[][], intercept: number[], options: { zipmap: boolean }): Uint8Array {
  const classes = coef.length;
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
        attr(
          'classlabels_ints',
          Array.from({ length: classes }, (_, i) => i),
          'ints',
        ),
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
          attribute: [
            attr(
              'classlabels_int64s',
              Array.from({ length: classes }, (_, i) => i),
              'ints',
            ),
          ],
        })
      : onnx.NodeProto.create({
          opType: 'Identity',
          name: 'prob_out',
          input: ['probability_tensor'],
          output: ['output_probability'],
        }),
  ];
  const graph = onnx.GraphProto.create({
    name: 'sklearn-like',
    node: nodes,
    input: [valueInfo('float_input', T.FLOAT, ['N', features])],
    output: [
      valueInfo('output_label', T.INT64, ['N']),
      options.zipmap
        ? sequenceOfMapsInfo('output_probability')
        : valueInfo('output_probability', T.FLOAT, ['N', classes]),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'skl2onnx',
    producerVersion: '1.16.0',
    opsetImport: [
      onnx.OperatorSetIdProto.create({ domain: '', version: 15 }),
      onnx.OperatorSetIdProto.create({ domain: ml, version: 1 }),
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
