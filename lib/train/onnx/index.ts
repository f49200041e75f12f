export { type ExportedModel, type ExportOptions, exportOnnx, ONNX_OPSET } from './export';
export { dequantize, dequantizedModel, type QuantizedTensor, quantizedTensorOf, quantizeSymmetric } from './quantize';
