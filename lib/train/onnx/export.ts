import onnxProto from 'onnx-proto';
import { ChorusError } from '../../errors';
import type { TrainedModel } from '../model';
import { type QuantizedTensor, quantizedTensorOf } from './quantize';

const { onnx } = onnxProto;
type Tensor = InstanceType<typeof onnx.TensorProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

/** Opset 13: the DequantizeLinear `axis` and ReduceSum-with-axes-input forms both exist there. */
export const ONNX_OPSET = 13;

export interface ExportOptions {
  labels: readonly string[];
  variant: 'fp32' | 'int8';
  /** default: `features` for linear models, `ids` for fastText */
  inputName?: string;
  outputName?: string;
  docString?: string;
  /**
   * Linear models: `dense` (default) takes one [batch, inputDim] row; `sparse` takes the row's
   * non-zeros as `ids` + `values` (the hashed featurizer's `layout: 'sparse'`).
   */
  layout?: 'dense' | 'sparse';
}

export interface ExportedModel {
  bytes: Uint8Array;
  /** the graph's input (its first, when it has several) */
  inputName: string;
  /** graph input → featurizer output, when the graph takes several (sparse linear: ids, values) */
  inputs?: Record<string, string>;
  outputName: string;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function floatTensor(name: string, dims: number[], values: Float32Array): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytesOf(values) });
}

function int8Tensor(name: string, dims: number[], values: Int8Array): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.INT8, rawData: bytesOf(values) });
}

function int64Tensor(name: string, dims: number[], values: bigint[]): Tensor {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: bytesOf(BigInt64Array.from(values)),
  });
}

function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, number> = {}): Node {
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs[0]}`,
    attribute: Object.entries(attrs).map(([name, i]) =>
      onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT }),
    ),
  });
}

/** Adds the big tensor as fp32 or as int8 + DequantizeLinear, returning the name to read it by. */
function weightTensor(
  variant: 'fp32' | 'int8',
  name: string,
  dims: [number, number],
  fp32: Float32Array,
  quantized: () => QuantizedTensor,
  init: Tensor[],
  nodes: Node[],
): string {
  if (variant === 'fp32') {
    init.push(floatTensor(name, dims, fp32));
    return name;
  }
  const q = quantized();
  init.push(int8Tensor(`${name}_q`, dims, q.q));
  init.push(floatTensor(`${name}_scale`, [q.scale.length], q.scale));
  init.push(int8Tensor(`${name}_zero_point`, [q.scale.length], new Int8Array(q.scale.length)));
  nodes.push(node('DequantizeLinear', [`${name}_q`, `${name}_scale`, `${name}_zero_point`], [name], { axis: q.axis }));
  return name;
}

/** A graph input or output: a tensor of `elemType` with fixed (number) or symbolic (string) dims. */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function checkModel(model: TrainedModel, labels: readonly string[]): void {
  const fail = (message: string): never => {
    throw new ChorusError('invalid_argument', `cannot export ${model.family}: ${message}`);
  };
  if (labels.length !== model.classes) fail(`${labels.length} labels for ${model.classes} classes`);
  if (!(model.temperature > 0) || !Number.isFinite(model.temperature)) fail(`temperature is ${model.temperature}`);
  const tensors: [string, Float32Array, number][] =
    model.family === 'fasttext'
      ? [
          ['embedding', model.embedding, model.vocab * model.dim],
          ['weights', model.weights, model.dim * model.classes],
          ['bias', model.bias, model.classes],
        ]
      : model.family === 'mlp'
        ? [
            ['mean', model.mean, model.inputDim],
            ['std', model.std, model.inputDim],
            ['w1', model.w1, model.inputDim * model.hidden],
            ['b1', model.b1, model.hidden],
            ['w2', model.w2, model.hidden * model.classes],
            ['b2', model.b2, model.classes],
          ]
        : [
            ['weights', model.weights, model.inputDim * model.classes],
            ['bias', model.bias, model.classes],
          ];
  for (const [name, values, size] of tensors) {
    if (values.length !== size) fail(`${name} holds ${values.length} values, expected ${size}`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i] as number)) fail(`${name}[${i}] is ${values[i]}`);
    }
  }
}

/**
 * Writes a trained model as a standard ONNX graph (opset 13, default domain only):
 * linear: MatMul → Add → Div(T) → Softmax over a dense float input [batch, inputDim];
 * fastText: Gather → ReduceSum / count of non-padding ids → MatMul → Add → Div(T) → Softmax
 * over int64 ids [batch, maxIds]. The int8 variant stores the big tensor as int8 with
 * per-axis scales and dequantizes it in the graph (DequantizeLinear), so any ONNX runtime runs it.
 */
export function exportOnnx(model: TrainedModel, options: ExportOptions): ExportedModel {
  checkModel(model, options.labels);
  const C = model.classes;
  const init: Tensor[] = [];
  const nodes: Node[] = [];
  const outputName = options.outputName ?? 'probabilities';
  let inputName: string;
  let input: ReturnType<typeof valueInfo>;
  let hidden: string;
  let weightDims: [number, number];
  const inputs: ReturnType<typeof valueInfo>[] = [];
  if (options.layout === 'sparse' && model.family !== 'logreg' && model.family !== 'naive-bayes') {
    throw new ChorusError('invalid_argument', `layout 'sparse' is for linear models, not ${model.family}`);
  }
  if (model.family === 'fasttext') {
    inputName = options.inputName ?? 'ids';
    input = valueInfo(inputName, onnx.TensorProto.DataType.INT64, ['batch', model.maxIds]);
    const table = weightTensor(
      options.variant,
      'embedding',
      [model.vocab, model.dim],
      model.embedding,
      () => quantizedTensorOf(model),
      init,
      nodes,
    );
    init.push(
      int64Tensor('axis_tokens', [1], [1n]),
      int64Tensor('pad_id', [], [0n]),
      floatTensor('one', [], new Float32Array([1])),
    );
    nodes.push(
      node('Gather', [table, inputName], ['bag'], { axis: 0 }),
      node('ReduceSum', ['bag', 'axis_tokens'], ['bag_sum'], { keepdims: 0 }),
      node('Greater', [inputName, 'pad_id'], ['is_token']),
      node('Cast', ['is_token'], ['token_weight'], { to: onnx.TensorProto.DataType.FLOAT }),
      node('ReduceSum', ['token_weight', 'axis_tokens'], ['token_count'], { keepdims: 1 }),
      node('Max', ['token_count', 'one'], ['token_count_safe']),
      node('Div', ['bag_sum', 'token_count_safe'], ['hidden']),
    );
    hidden = 'hidden';
    weightDims = [model.dim, C];
    init.push(floatTensor('weights', weightDims, model.weights));
  } else if (model.family === 'mlp') {
    inputName = options.inputName ?? 'x';
    input = valueInfo(inputName, onnx.TensorProto.DataType.FLOAT, ['batch', model.inputDim]);
    init.push(floatTensor('mean', [model.inputDim], model.mean), floatTensor('std', [model.inputDim], model.std));
    const w1 = weightTensor(
      options.variant,
      'w1',
      [model.inputDim, model.hidden],
      model.w1,
      () => quantizedTensorOf(model),
      init,
      nodes,
    );
    init.push(floatTensor('b1', [model.hidden], model.b1));
    nodes.push(
      node('Sub', [inputName, 'mean'], ['centred']),
      node('Div', ['centred', 'std'], ['standardised']),
      node('MatMul', ['standardised', w1], ['hidden_pre']),
      node('Add', ['hidden_pre', 'b1'], ['hidden_biased']),
      node('Relu', ['hidden_biased'], ['hidden']),
    );
    hidden = 'hidden';
    weightDims = [model.hidden, C];
    init.push(floatTensor('weights', weightDims, model.w2));
  } else if (options.layout === 'sparse') {
    // Σ_j values[j] · weights[ids[j]]: the row's weight rows gathered, scaled and summed, so a
    // message costs its n-grams; padding (id 0, value 0) adds nothing.
    inputName = 'ids';
    input = valueInfo(inputName, onnx.TensorProto.DataType.INT64, ['batch', 'nonzeros']);
    inputs.push(valueInfo('values', onnx.TensorProto.DataType.FLOAT, ['batch', 'nonzeros']));
    hidden = '';
    weightDims = [model.inputDim, C];
    const table = weightTensor(
      options.variant,
      'weights',
      weightDims,
      model.weights,
      () => quantizedTensorOf(model),
      init,
      nodes,
    );
    init.push(int64Tensor('axis_class', [1], [2n]), int64Tensor('axis_nonzeros', [1], [1n]));
    nodes.push(
      node('Gather', [table, inputName], ['rows'], { axis: 0 }),
      node('Unsqueeze', ['values', 'axis_class'], ['values_column']),
      node('Mul', ['rows', 'values_column'], ['weighted_rows']),
      node('ReduceSum', ['weighted_rows', 'axis_nonzeros'], ['scores'], { keepdims: 0 }),
    );
  } else {
    inputName = options.inputName ?? 'features';
    input = valueInfo(inputName, onnx.TensorProto.DataType.FLOAT, ['batch', model.inputDim]);
    hidden = inputName;
    weightDims = [model.inputDim, C];
    weightTensor(options.variant, 'weights', weightDims, model.weights, () => quantizedTensorOf(model), init, nodes);
  }
  init.push(
    floatTensor('bias', [C], model.family === 'mlp' ? model.b2 : model.bias),
    floatTensor('temperature', [], new Float32Array([model.temperature])),
  );
  if (hidden) nodes.push(node('MatMul', [hidden, 'weights'], ['scores']));
  nodes.push(
    node('Add', ['scores', 'bias'], ['logits']),
    node('Div', ['logits', 'temperature'], ['scaled_logits']),
    node('Softmax', ['scaled_logits'], [outputName], { axis: -1 }),
  );
  const graph = onnx.GraphProto.create({
    name: `chorus_${model.family}`,
    node: nodes,
    initializer: init,
    input: [input, ...inputs],
    output: [valueInfo(outputName, onnx.TensorProto.DataType.FLOAT, ['batch', C])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'chorus',
    producerVersion: '0.1.0',
    docString: options.docString ?? '',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: ONNX_OPSET })],
    graph,
    metadataProps: [
      onnx.StringStringEntryProto.create({ key: 'family', value: model.family }),
      onnx.StringStringEntryProto.create({ key: 'variant', value: options.variant }),
      onnx.StringStringEntryProto.create({ key: 'labels', value: JSON.stringify(options.labels) }),
    ],
  });
  const bytes = onnx.ModelProto.encode(proto).finish();
  if (options.layout === 'sparse') return { bytes, inputName, inputs: { ids: 'ids', values: 'values' }, outputName };
  return { bytes, inputName, outputName };
}
