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

/**
 * The tiny BERT of models/transformer as a user would publish it: one `message` text field
 * (rfc822 unless `plain`), a tokenizer featurizer over the body view and the three Hugging Face
 * inputs mapped to its outputs, logits read from `logits`.
 */
export function transformerManifest(
  name: string,
  model: MemberSpec['model'],
  tokenizer: { key: string; sha256: string; bytes: number },
  options: { format?: 'plain' | 'rfc822'; maxLength?: number } = {},
): EnsembleManifestInput {
  return {
    name,
    version: 1,
    task: 'classification',
    labels: ['ham', 'spam'],
    input: { fields: { message: { type: 'text', format: options.format ?? 'rfc822' } } },
    members: [
      {
        id: 'bert-tiny',
        model,
        featurizer: {
          kind: 'tokenizer',
          field: 'message',
          view: 'body',
          tokenizer,
          maxLength: options.maxLength ?? 256,
          truncation: 'right',
          padding: 'longest',
        },
        inputs: { input_ids: 'input_ids', attention_mask: 'attention_mask', token_type_ids: 'token_type_ids' },
        outputName: 'logits',
        output: 'logits',
        costUnits: 20,
      },
    ],
    fusion: { strategy: 'soft' },
    provenance: { createdAt: '2026-11-23T00:00:00.000Z', tool: 'models/transformer/make_bert.py' },
  };
}
