import type { InputTensor, ModelSession, OutputTensor, SessionOptions, ValueInfo } from './backend';

type OrtValueMetadata = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

function valueInfo(names: readonly string[], metadata: readonly OrtValueMetadata[] | undefined): ValueInfo[] {
  return names.map((name) => {
    const m = metadata?.find((v) => v.name === name);
    if (!m) return { name };
    return m.isTensor ? { name, dtype: m.type as string, shape: m.shape ?? [] } : { name, tensor: false };
  });
}

/** Whether weights are folded at load (the default) for these options. */
const folds = (options: SessionOptions | undefined) => options?.foldQuantization ?? true;

/**
 * The session options both onnxruntime packages take for Chorus. 'basic' (constant folding,
 * redundant-node removal) keeps the model's arithmetic: the 'extended' fusions rewrite int8
 * DequantizeLinear → MatMul into an integer MatMul that also quantizes the activations, which
 * moves answers ~1e-4 from the graph's definition (measured). ORT's constant folding skips
 * DequantizeLinear so QDQ fusions can see it; `session.disable_quant_qdq` lifts that, so each
 * int8 weight is dequantized once at load instead of on every run (same arithmetic: outputs
 * within 2e-7).
 */
export function ortSessionConfig(options: SessionOptions | undefined): {
  graphOptimizationLevel: 'basic';
  extra?: { session: Record<string, string> };
} {
  return folds(options)
    ? { graphOptimizationLevel: 'basic', extra: { session: { disable_quant_qdq: '1' } } }
    : { graphOptimizationLevel: 'basic' };
}

/**
 * Resident weight bytes of a session, estimated from the model file: folded int8 weights live as
 * fp32, so 4× the file is the bound (fp32 parts of a graph are counted 4× too — an overestimate,
 * never an under-count); unfolded, the weights stay the size they have in the file.
 */
export function residentEstimate(model: Uint8Array, options: SessionOptions | undefined): number {
  return folds(options) ? model.byteLength * 4 : model.byteLength;
}

/**
 * An error after which the runtime instance itself is dead (the wasm called abort(), or trapped),
 * not just this one call: every session of that instance must be dropped.
 */
export function isRuntimeAbort(e: unknown): boolean {
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) return true;
  const message = e instanceof Error ? e.message : String(e);
  return /\bAborted\(|\babort\(|RuntimeError|memory access out of bounds|unreachable/.test(message);
}

type Disposable = { dispose?: () => void };

/**
 * The shape both onnxruntime packages share (onnxruntime-common's InferenceSession), so each
 * runtime adapter only supplies its own session and Tensor constructor.
 */
export interface OrtSessionLike<T> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(
    feeds: Record<string, T>,
    fetches: string[],
  ): Promise<Record<string, { data: unknown; dims: readonly number[] } & Disposable>>;
  release(): Promise<void>;
}

/**
 * Every tensor a run makes is disposed before the run returns (inputs and outputs alike; the
 * output's data is copied out first), so nothing per request outlives the request inside the
 * runtime's memory.
 */
export function wrapOrtSession<T extends Disposable>(
  session: OrtSessionLike<T>,
  tensor: (input: InputTensor) => T,
  residentBytes?: number,
): ModelSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputs: valueInfo(session.inputNames, session.inputMetadata),
    outputs: valueInfo(session.outputNames, session.outputMetadata),
    ...(residentBytes === undefined ? {} : { residentBytes }),
    async run(inputs: Record<string, InputTensor>, outputName: string): Promise<OutputTensor> {
      const feeds: Record<string, T> = {};
      try {
        for (const [name, t] of Object.entries(inputs)) feeds[name] = tensor(t);
        const out = await session.run(feeds, [outputName]);
        try {
          const result = out[outputName];
          if (!result) throw new Error(`model has no output '${outputName}'`);
          // a float64 output (a graph exported in double) is read as float32, as every other answer is
          return { data: Float32Array.from(result.data as ArrayLike<number>), dims: [...result.dims] };
        } finally {
          for (const value of Object.values(out)) value.dispose?.();
        }
      } finally {
        for (const value of Object.values(feeds)) value.dispose?.();
      }
    },
    release: () => session.release(),
  };
}
