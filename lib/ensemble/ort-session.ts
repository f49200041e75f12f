import type { InputTensor, ModelSession, OutputTensor, ValueInfo } from './backend';

type OrtValueMetadata = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

function valueInfo(names: readonly string[], metadata: readonly OrtValueMetadata[] | undefined): ValueInfo[] {
  return names.map((name) => {
    const m = metadata?.find((v) => v.name === name);
    return m?.isTensor ? { name, dtype: m.type as string, shape: m.shape ?? [] } : { name };
  });
}

/**
 * The shape both onnxruntime packages share (onnxruntime-common's InferenceSession), so each
 * runtime adapter only supplies its own session and Tensor constructor.
 */
export interface OrtSessionLike<T> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, T>, fetches: string[]): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
  release(): Promise<void>;
}

export function wrapOrtSession<T>(session: OrtSessionLike<T>, tensor: (input: InputTensor) => T): ModelSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputs: valueInfo(session.inputNames, session.inputMetadata),
    outputs: valueInfo(session.outputNames, session.outputMetadata),
    async run(inputs: Record<string, InputTensor>, outputName: string): Promise<OutputTensor> {
      const feeds: Record<string, T> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = tensor(t);
      const out = await session.run(feeds, [outputName]);
      const result = out[outputName];
      if (!result) throw new Error(`model has no output '${outputName}'`);
      return { data: result.data as Float32Array, dims: result.dims };
    },
    release: () => session.release(),
  };
}
