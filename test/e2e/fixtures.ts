/** Data the job tests put in the bucket besides the spam split. */
import { readFile } from 'node:fs/promises';
import type { Stack } from '../../infra/local-stack';
import { EnsembleManifestSchema } from '../../lib/schema';
import { torchMlpManifest } from '../helpers/byo';
import type { jobsClient } from './jobs-client';

/** A copy of a dataset without its labels (transfer rows for distillation); returns its key. */
export async function unlabeledCopy(store: Stack['store'], from: string, to: string): Promise<string> {
  const rows = new TextDecoder()
    .decode((await store.get(from)) ?? new Uint8Array())
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.stringify({ input: (JSON.parse(l) as { input: unknown }).input }));
  await store.put(to, `${rows.join('\n')}\n`);
  return to;
}

/**
 * "Bring your own model": the committed PyTorch breast-cancer MLP (tensor input, logits) published
 * as ensemble `bc`, with its train and validation rows under datasets/bc/.
 */
export async function publishTorchEnsemble(stack: Stack, client: ReturnType<typeof jobsClient>): Promise<void> {
  const model = await client.uploadModel(await readFile('test/fixtures/byo/breast-cancer-mlp.onnx'));
  for (const split of ['train', 'validation'])
    await stack.store.put(
      `datasets/bc/${split}.jsonl`,
      await readFile(`test/fixtures/byo/breast-cancer-${split}.jsonl`),
    );
  await client.publish(EnsembleManifestSchema.parse(torchMlpManifest('bc', model, ['malignant', 'benign'])));
}
