export { type CompressedTensor, type CompressOptions, type CompressResult, quantizeOnnxModel } from './compress';
export { type ExportedModel, type ExportOptions, exportOnnx, ONNX_OPSET, valueInfo } from './export';
export { dequantize, dequantizedModel, type QuantizedTensor, quantizedTensorOf, quantizeSymmetric } from './quantize';
export { readFastTextOnnx } from './read';
