/**
 * The one contract between the engine and an ONNX runtime. onnxruntime-web (edge) and
 * onnxruntime-node (container, build scripts) each implement it in their own adapter, so
 * nothing in lib/ imports a runtime.
 */
import type { FeatureDtype, TensorDtype } from '../schema';

export type { FeatureDtype, TensorDtype };

/** numbers, or texts for dtype `string` (the text featurizer) */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | readonly string[];

export interface InputTensor {
  readonly dtype: FeatureDtype;
  readonly data: TensorData;
  readonly dims: readonly number[];
}

export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** A graph input or output as the model declares it (symbolic dims are strings). */
export interface ValueInfo {
  readonly name: string;
  /** element type, e.g. `float32`, `int64`; absent for non-tensor values */
  readonly dtype?: string;
  /** false for a value the runtime says is no tensor (a sequence, a map); absent when unknown */
  readonly tensor?: boolean;
  readonly shape?: readonly (number | string)[];
  /** the class of each column, where the graph names them (a ZipMap's string labels: zipmap.ts) */
  readonly classLabels?: readonly string[];
}

export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** declared inputs and outputs, for checking a manifest against the graph at publish */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /**
   * Bytes this session keeps resident (weights as the runtime holds them), an estimate from the
   * graph; absent when the backend cannot say, and the cache then counts the model file's bytes.
   */
  readonly residentBytes?: number;
  run(inputs: Record<string, InputTensor>, outputName: string): Promise<OutputTensor>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /**
   * Dequantize int8 weights once at load (constant-fold each weight's DequantizeLinear) instead of
   * on every run: about twice as fast per message, with the weights resident as fp32 (≈ 4× the
   * int8 bytes). Outputs stay within 2e-7 of the unfolded graph. Default true.
   */
  readonly foldQuantization?: boolean;
}

export interface InferenceBackend {
  /** e.g. `onnxruntime-web/wasm`, `onnxruntime-node/cpu`, `onnxruntime-node/cuda` */
  readonly name: string;
  createSession(model: Uint8Array, options?: SessionOptions): Promise<ModelSession>;
}
