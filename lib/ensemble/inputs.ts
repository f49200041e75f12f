import { ChorusError, isChorusError } from '../errors';
import { type EmailViews, featurizeText, parseEmail } from '../features';
import type { FeaturizerSpec, InputSpec, MemberSpec, PredictInput, TensorValue } from '../schema';
import { abstainsOn } from './abstain';
import type { InputTensor } from './backend';
import { type InputIssue, inputError } from './validate-inputs';

/**
 * Builds each member's batch tensor, featurizing every example once per distinct featurizer and
 * parsing each e-mail field once, however many members read it.
 */
export class Featurizer {
  private readonly parsed = new Map<string, Promise<EmailViews>>();
  private readonly tensors = new Map<string, Promise<InputTensor>>();

  constructor(
    private readonly spec: InputSpec,
    private readonly inputs: readonly PredictInput[],
  ) {}

  tensorFor(member: MemberSpec): Promise<InputTensor> {
    const key = JSON.stringify(member.featurizer);
    let t = this.tensors.get(key);
    if (!t) {
      t = this.build(member.featurizer);
      this.tensors.set(key, t);
    }
    return t;
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
            await this.views(field, index, (input[field] as string | undefined) ?? '');
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
  async abstentions(member: MemberSpec): Promise<boolean[]> {
    const f = member.featurizer;
    if (!member.abstain || f.kind !== 'hashed-ngrams') return this.inputs.map(() => false);
    const field = this.spec.fields[f.field];
    return Promise.all(
      this.inputs.map(async (input, i) => {
        const raw = (input[f.field] as string | undefined) ?? '';
        const text =
          field?.type === 'text' && field.format === 'rfc822'
            ? (await this.views(f.field, i, raw))[f.view ?? 'body']
            : raw;
        return abstainsOn(member, text);
      }),
    );
  }

  private views(field: string, index: number, raw: string): Promise<EmailViews> {
    const key = `${field}#${index}`;
    let v = this.parsed.get(key);
    if (!v) {
      v = parseEmail(raw);
      this.parsed.set(key, v);
    }
    return v;
  }

  private async build(f: FeaturizerSpec): Promise<InputTensor> {
    const field = this.spec.fields[f.field];
    if (!field) throw new ChorusError('invalid_manifest', `featurizer reads undeclared field '${f.field}'`);
    const n = this.inputs.length;
    if (f.kind === 'tensor') {
      if (field.type !== 'tensor') throw new ChorusError('invalid_manifest', `field '${f.field}' is not a tensor`);
      const size = field.shape.reduce((a, b) => a * b, 1);
      const values = this.inputs.flatMap((input) => (input[f.field] as TensorValue).data);
      const dims = [n, ...field.shape];
      if (field.dtype === 'float32') return { dtype: 'float32', data: Float32Array.from(values), dims };
      if (field.dtype === 'int32') return { dtype: 'int32', data: Int32Array.from(values), dims };
      return { dtype: 'int64', data: BigInt64Array.from(values.slice(0, n * size), (v) => BigInt(v)), dims };
    }
    if (field.type !== 'text') throw new ChorusError('invalid_manifest', `field '${f.field}' is not text`);
    const rows = await Promise.all(
      this.inputs.map(async (input, i) => {
        const raw = (input[f.field] as string | undefined) ?? '';
        const text = field.format === 'rfc822' ? (await this.views(f.field, i, raw))[f.view ?? 'body'] : raw;
        return featurizeText(text, f);
      }),
    );
    const width = rows[0]?.length ?? 0;
    if (f.output === 'ids') {
      const data = new BigInt64Array(n * width);
      rows.forEach((r, i) => {
        data.set(r as BigInt64Array, i * width);
      });
      return { dtype: 'int64', data, dims: [n, width] };
    }
    const data = new Float32Array(n * width);
    rows.forEach((r, i) => {
      data.set(r as Float32Array, i * width);
    });
    return { dtype: 'float32', data, dims: [n, width] };
  }
}
