/** `chorus models upload <file.onnx>`: content-addressed upload with a progress bar. */
import { Command } from 'commander';
import { ModelUploadSchema, UnreferencedModelListSchema } from '../../lib/schema';
import { context, print, readLocal } from '../context';
import { progress, trackedBody } from '../progress';

export function modelsCommand(): Command {
  const models = new Command('models').description('ONNX models in the bucket');
  models
    .command('upload')
    .description('upload an ONNX model; prints its sha256, key, inputs and outputs')
    .argument('<file>', 'an .onnx file')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const bytes = await readLocal(file);
      const bar = progress('upload', { unit: 'bytes' });
      bar.update(0, bytes.length, file);
      try {
        const model = await ctx.client.json(ModelUploadSchema, 'PUT', '/v1/models', {
          body: trackedBody(bytes, (sent) => bar.update(sent, bytes.length, file)),
          contentType: 'application/octet-stream',
        });
        bar.stop();
        print(ctx, model, () => [
          `${model.key}  ${model.bytes} bytes`,
          `sha256   ${model.sha256}`,
          `inputs   ${model.inputs.join(', ')}`,
          `outputs  ${model.outputs.join(', ')}`,
        ]);
      } finally {
        bar.stop();
      }
    });
  models
    .command('unreferenced')
    .description('models no live ensemble version references (candidates for cleanup; admin)')
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const answer = await ctx.client.get(UnreferencedModelListSchema, '/v1/models', { unreferenced: true });
      print(ctx, answer, () =>
        answer.models.length === 0
          ? '(every stored model is referenced by a live version)'
          : answer.models.map(
              (m) =>
                `${m.key}  ${m.bytes} bytes${m.archivedIn.length ? `  (archived ensembles: ${m.archivedIn.join(', ')})` : ''}`,
            ),
      );
    });
  return models;
}
