import { ChorusError, isChorusError } from '../errors';
import { type EmailViews, type FeatureTensor, featurizerFor, parseEmail, type TokenizerSource } from '../features';
import type { FeaturizerSpec, InputSpec, MemberSpec, TensorValue } from '../schema';
import { abstainsOn } from './abstain';
import type { InputTensor } from './backend';
import { type EngineInput, type InputIssue, inputError } from './validate-inputs';

/** A text field's value: a string, or an rfc822 field's raw bytes (validateInputs admits nothing else). */
const textOf = (input: EngineInput, field: string): string | Uint8Array =>
  (input[field] as string | Uint8Array | undefined) ?? '';

/** Graph input → featurizer output: `inputs` as declared, or `inputName` fed the one output `features`. */
export function memberFeeds(member: Pick<MemberSpec, 'inputName' | 'inputs'>): Record<string, string> {
  if (member.inputs) return member.inputs;
  return member.inputName === undefined ? {} : { [member.inputName]: 'features' };
}

/**
 * Builds each member's batch tensors, featurizing every example once per distinct featurizer and
 * parsing each e-mail field once, however many members read it.
 */
export class Featurizer {
  private readonly parsed = new Map<string, Promise<EmailViews>>();
  private readonly outputs = new Map<string, Promise<Record<string, FeatureTensor>>>();
  /** per member, once: a cascade reads them before any member runs, and again when each runs */
  private readonly abstaining = new Map<MemberSpec, Promise<boolean[]>>();

  constructor(
    private readonly spec: InputSpec,
    private readonly inputs: readonly EngineInput[],
    private readonly tokenizers?: TokenizerSource,
  ) {}

  /** The member's feeds: each graph input it maps, with the featurizer output it names. */
  async feedsFor(member: MemberSpec): Promise<Record<string, InputTensor>> {
    const key = JSON.stringify(member.featurizer);
    let built = this.outputs.get(key);
    if (!built) {
      built = this.build(member.featurizer);
      this.outputs.set(key, built);
    }
    const outputs = await built;
    const feeds: Record<string, InputTensor> = {};
    for (const [graphInput, name] of Object.entries(memberFeeds(member))) {
      const t = outputs[name];
      if (!t) throw new ChorusError('invalid_manifest', `member '${member.id}': its featurizer makes no '${name}'`);
      feeds[graphInput] = t;
    }
    return feeds;
  }

  /**
   * Parses every e-mail field any of `members` reads, before any member runs, so a message the
   * parser refuses (too deep, too many parts) is the caller's 400 naming `inputs[i]` — not a
   * failure of every member and a 503. A structural limit alone answers 413.
   */
  async prepare(members: readonly MemberSpec[]): Promise<void> {
    const fields = new Set<string>();
    for (const m of members) {
      const field = this.spec.fields[m.featurizer.field];
      if (field?.type === 'text' && field.format === 'rfc822') fields.add(m.featurizer.field);
    }
    const issues: InputIssue[] = [];
    let limitsOnly = true;
    for (const field of fields) {
      await Promise.all(
        this.inputs.map(async (input, index) => {
          try {
            await this.views(field, index, textOf(input, field));
          } catch (e) {
            const limit = isChorusError(e) ? e.details?.limit : undefined;
            if (limit === undefined) limitsOnly = false;
            issues.push({ index, field, reason: e instanceof Error ? e.message : String(e) });
          }
        }),
      );
    }
    if (issues.length === 0) return;
    issues.sort((a, b) => a.index - b.index);
    const error = inputError(issues);
    throw limitsOnly ? new ChorusError('input_limit', error.message, { details: error.details }) : error;
  }

  /** Per input, whether `member` abstains for it (`abstain.minTokens` over the text its featurizer reads). */
  abstentions(member: MemberSpec): Promise<boolean[]> {
    let found = this.abstaining.get(member);
    if (!found) {
      found = this.readAbstentions(member);
      this.abstaining.set(member, found);
    }
    return found;
  }

  private async readAbstentions(member: MemberSpec): Promise<boolean[]> {
    const f = member.featurizer;
    if (!member.abstain || f.kind === 'tensor') return this.inputs.map(() => false);
    const field = this.spec.fields[f.field];
    return Promise.all(
      this.inputs.map(async (input, i) => {
        const raw = textOf(input, f.field);
        const text =
          field?.type === 'text' && field.format === 'rfc822'
            ? (await this.views(f.field, i, raw))[f.view ?? 'body']
            : (raw as string);
        return abstainsOn(member, text);
      }),
    );
  }

  private views(field: string, index: number, raw: string | Uint8Array): Promise<EmailViews> {
    const key = `${field}#${index}`;
    let v = this.parsed.get(key);
    if (!v) {
      v = parseEmail(raw);
      this.parsed.set(key, v);
    }
    return v;
  }

  /** Every output of one featurizer for the batch, through its entry in the featurizer table. */
  private build(f: FeaturizerSpec): Promise<Record<string, FeatureTensor>> {
    const field = this.spec.fields[f.field];
    if (!field)
      return Promise.reject(new ChorusError('invalid_manifest', `featurizer reads undeclared field '${f.field}'`));
    const view = 'view' in f ? f.view : undefined;
    return featurizerFor(f).build(f, {
      field,
      texts: () =>
        Promise.all(
          this.inputs.map(async (input, i) => {
            const raw = textOf(input, f.field);
            return field.type === 'text' && field.format === 'rfc822'
              ? (await this.views(f.field, i, raw))[view ?? 'body']
              : (raw as string);
          }),
        ),
      values: () => this.inputs.map((input) => input[f.field] as TensorValue),
      ...(this.tokenizers ? { tokenizers: this.tokenizers } : {}),
    });
  }
}
