import type { EnsembleManifestInput, MemberSpec } from '../../lib/schema';

/**
 * The one-member ensemble over test/fixtures/byo/breast-cancer-mlp.onnx (a PyTorch MLP exported by
 * torch.onnx: float32 input `x` of 30 features, output `logits`), as a user would publish it.
 */
export function torchMlpManifest(name: string, model: MemberSpec['model'], labels: string[]): EnsembleManifestInput {
  return {
    name,
    version: 1,
    task: 'classification',
    labels,
    input: { fields: { x: { type: 'tensor', dtype: 'float32', shape: [30] } } },
    members: [
      {
        id: 'torch-mlp',
        model,
        featurizer: { kind: 'tensor', field: 'x' },
        inputName: 'x',
        outputName: 'logits',
        output: 'logits',
      },
    ],
    fusion: { strategy: 'soft' },
    provenance: { createdAt: '2026-11-22T00:00:00.000Z', tool: 'torch.onnx.export' },
  };
}
