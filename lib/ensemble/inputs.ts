import { ChorusError } from '../errors';
import { type EmailViews, featurizeText, parseEmail } from '../features';
import type { FeaturizerSpec, InputSpec, MemberSpec, PredictInput, TensorValue } from '../schema';
import type { InputTensor } from './backend';

/** Checks every example against the manifest's input spec; errors name the example and field. */
export function validateInputs(spec: InputSpec, inputs: readonly PredictInput[]): void {
  inputs.forEach((input, i) => {
    for (const name of Object.keys(input)) {
      if (!(name in spec.fields)) {
        throw new ChorusError('invalid_input', `inputs[${i}]: unknown field '${name}'`, {
          details: { index: i, field: name, expected: Object.keys(spec.fields) },
        });
      }
    }
    for (const [name, field] of Object.entries(spec.fields)) {
      const value = input[name];
      const where = `inputs[${i}].${name}`;
      if (value === undefined) {
        if (field.type === 'tensor' || field.required) {
          throw new ChorusError('invalid_input', `${where} is required`, { details: { index: i, field: name } });
        }
        continue;
      }
      if (field.type === 'text') {
        if (typeof value !== 'string') throw new ChorusError('invalid_input', `${where} must be a string`);
        if (value.length > field.maxLength) {
          throw new ChorusError('invalid_input', `${where} has ${value.length} characters, at most ${field.maxLength}`);
        }
        continue;
      }
      if (typeof value === 'string') throw new ChorusError('invalid_input', `${where} must be a tensor`);
      checkTensor(value, field.dtype, field.shape, where);
    }
  });
}

function checkTensor(t: TensorValue, dtype: string, shape: readonly number[], where: string): void {
  if (t.dtype !== dtype) throw new ChorusError('invalid_input', `${where} has dtype ${t.dtype}, expected ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
    throw new ChorusError('invalid_input', `${where} has shape [${t.shape}], expected [${shape}]`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new ChorusError('invalid_input', `${where} holds ${t.data.length} values, shape [${shape}] needs ${size}`);
  }
  for (const v of t.data) {
    if (!Number.isFinite(v)) throw new ChorusError('invalid_input', `${where} contains ${v}`);
    if (dtype !== 'float32' && !Number.isInteger(v)) {
      throw new ChorusError('invalid_input', `${where} must hold integers for ${dtype}`);
    }
  }
}

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
