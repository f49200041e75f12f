/** `chorus predict <ensemble> [texts...]`: fused answers for texts, e-mails, JSON inputs or stdin. */
import { Command, Option } from 'commander';
import {
  EnsembleManifestSchema,
  FusionStrategySchema,
  type PredictResponse,
  PredictResponseSchema,
} from '../../lib/schema';
import { type Ctx, context, print } from '../context';
import { ProblemError, UsageError } from '../errors';
import { gatherInputs, type InputOptions } from '../inputs';

interface PredictOptions extends InputOptions {
  strategy?: string;
  members?: boolean;
  inputField?: string;
}

const RFC822 = 'message/rfc822';
const RAW_REFUSED = new Set(['unsupported_media_type', 'raw_message_not_accepted']);

export function predictCommand(): Command {
  return new Command('predict')
    .description('fused prediction: texts as arguments, --eml files, --file JSON, --field pairs, or stdin (-)')
    .argument('<ensemble>')
    .argument('[texts...]', "texts for the ensemble's text field; '-' reads stdin")
    .option('--eml <files...>', 'e-mail files; one alone is sent as raw message/rfc822 bytes')
    .option('-f, --file <file>', 'JSON: {inputs: [...]}, an array of inputs, or one input')
    .option('--field <name=value...>', 'one input field by field')
    .option('--input-field <name>', 'the field bare texts and e-mails fill (default: the one text field)')
    .addOption(
      new Option('-s, --strategy <strategy>', 'fusion strategy for this call').choices(FusionStrategySchema.options),
    )
    .option('-m, --members', "include each member's probabilities")
    .action(async (ensemble: string, texts: string[], o: PredictOptions, cmd: Command) => {
      const ctx = context(cmd);
      const inputs = await gatherInputs(texts, o);
      const path = `/v1/ensembles/${encodeURIComponent(ensemble)}/predict`;
      const extra = { ...(o.strategy ? { strategy: o.strategy } : {}), ...(o.members ? { return_members: true } : {}) };
      let answer: PredictResponse | undefined;
      // raw bytes fill the ensemble's one rfc822 field; a field named by --input-field gets JSON
      if (inputs.kind === 'raw' && !o.inputField) {
        try {
          answer = await ctx.client.json(PredictResponseSchema, 'POST', path, {
            body: new Blob([new Uint8Array(inputs.bytes)], { type: RFC822 }),
            contentType: RFC822,
            query: extra,
          });
        } catch (e) {
          // a server from before raw bodies, or an ensemble without one rfc822 field: the same mail
          // as a JSON string (decoded as UTF-8) for its text field
          if (!(e instanceof ProblemError && RAW_REFUSED.has(e.code))) throw e;
        }
      }
      if (!answer) {
        const request = inputs.kind === 'raw' ? {} : inputs.request;
        const texts = inputs.kind === 'raw' ? [new TextDecoder().decode(inputs.bytes)] : inputs.texts;
        const objects = inputs.kind === 'raw' ? [] : inputs.inputs;
        const field = texts.length ? (o.inputField ?? (await textField(ctx, ensemble))) : '';
        const body = { ...request, ...extra, inputs: [...objects, ...texts.map((t) => ({ [field]: t }))] };
        answer = await ctx.client.json(PredictResponseSchema, 'POST', path, { json: body });
      }
      const done = answer;
      print(ctx, done, () => describePrediction(done));
    });
}

/** The ensemble's one text field (an rfc822 one first): where bare texts and e-mails go. */
async function textField(ctx: Ctx, ensemble: string): Promise<string> {
  const manifest = await ctx.client.get(EnsembleManifestSchema, `/v1/ensembles/${encodeURIComponent(ensemble)}`);
  const text = Object.entries(manifest.input.fields).filter(([, spec]) => spec.type === 'text');
  const mail = text.filter(([, spec]) => spec.type === 'text' && spec.format === 'rfc822');
  const pick = mail.length === 1 ? mail : text;
  if (pick.length !== 1 || !pick[0]) {
    throw new UsageError(`${ensemble} has ${text.length} text fields: name one with --input-field`);
  }
  return pick[0][0];
}

function describePrediction(a: PredictResponse): string[] {
  const lines = a.predictions.map((p, i) => {
    const probs = Object.entries(p.probabilities)
      .map(([label, v]) => `${label}=${v.toFixed(4)}`)
      .join(' ');
    const abstained =
      p.abstained === 'all' ? ' abstained: all' : p.abstained.length ? ` abstained: ${p.abstained.join(',')}` : '';
    const members = p.members
      ? `\n    ${Object.entries(p.members)
          .map(
            ([m, probs]) =>
              `${m}: ${Object.values(probs)
                .map((v) => v.toFixed(3))
                .join('/')}`,
          )
          .join('  ')}`
      : '';
    return `${String(i).padStart(3)}  ${p.label.padEnd(10)} ${probs}  entropy=${p.uncertainty.entropy.toFixed(3)}${abstained}${members}`;
  });
  const degraded = a.degraded.length
    ? `  degraded: ${a.degraded.map((d) => `${d.member} (${d.reason})`).join(', ')}`
    : '';
  return [
    ...lines,
    `${a.ensemble} v${a.version} ${a.strategy}, ${a.ran.length} members ran, ${a.usage.units} units${degraded}`,
  ];
}
