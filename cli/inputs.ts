/**
 * Where `chorus predict` takes its inputs from: text arguments, `--eml` files, a JSON file
 * (a whole request, an array of inputs or one input), `--field k=v` pairs, or stdin. One e-mail
 * and nothing else goes as raw `message/rfc822` bytes, so 8-bit and non-UTF-8 mail arrives intact.
 */
import { z } from 'zod';
import { type PredictInput, PredictInputSchema, PredictRequestSchema } from '../lib/schema';
import { parseJson, readLocal, readStdin } from './context';
import { UsageError } from './errors';

export interface InputOptions {
  eml?: string[];
  file?: string;
  field?: string[];
}

/** Either one raw e-mail, or inputs that still need the text field's name for the bare texts. */
export type Inputs =
  | { kind: 'raw'; bytes: Uint8Array; origin: string }
  | { kind: 'json'; inputs: PredictInput[]; texts: string[]; request: Record<string, unknown> };

const FromFileSchema = z.union([
  PredictRequestSchema.partial({ return_members: true }),
  z.array(PredictInputSchema).min(1),
  PredictInputSchema,
]);

const looksLikeJson = (bytes: Uint8Array) => /^\s*[[{]/.test(new TextDecoder().decode(bytes.subarray(0, 64)));

export async function gatherInputs(texts: string[], o: InputOptions): Promise<Inputs> {
  const emls = o.eml ?? [];
  const stdinWanted = texts.length === 1 && texts[0] === '-';
  if (stdinWanted) texts = [];
  const nothing = texts.length === 0 && emls.length === 0 && !o.file && !o.field?.length;
  if (stdinWanted || (nothing && !process.stdin.isTTY)) {
    const bytes = await readStdin();
    if (bytes.length === 0) throw new UsageError('stdin is empty: nothing to predict');
    if (!looksLikeJson(bytes)) return { kind: 'raw', bytes, origin: 'stdin' };
    return fromJson(new TextDecoder().decode(bytes), 'stdin', [], []);
  }
  if (nothing)
    throw new UsageError('nothing to predict: give texts, --eml FILE, --file FILE.json, --field k=v or stdin');
  if (emls.length === 1 && texts.length === 0 && !o.file && !o.field?.length) {
    const origin = emls[0] ?? '';
    return { kind: 'raw', bytes: await readLocal(origin), origin };
  }
  // several e-mails share one JSON request: each is decoded as UTF-8 (raw bytes go one at a time)
  const mailTexts = await Promise.all(emls.map(async (f) => new TextDecoder().decode(await readLocal(f))));
  const fields = o.field?.length ? [fieldPairs(o.field)] : [];
  if (o.file)
    return fromJson(new TextDecoder().decode(await readLocal(o.file)), o.file, fields, [...texts, ...mailTexts]);
  return { kind: 'json', inputs: fields, texts: [...texts, ...mailTexts], request: {} };
}

function fromJson(text: string, what: string, fields: PredictInput[], texts: string[]): Inputs {
  const value = parseJson(text, FromFileSchema, what);
  if (Array.isArray(value)) return { kind: 'json', inputs: [...value, ...fields], texts, request: {} };
  if ('inputs' in value && Array.isArray(value.inputs)) {
    const { inputs, ...request } = value as z.infer<typeof PredictRequestSchema>;
    return { kind: 'json', inputs: [...inputs, ...fields], texts, request };
  }
  return { kind: 'json', inputs: [value as PredictInput, ...fields], texts, request: {} };
}

/** `--field subject=hello --field body=…` → one input. */
function fieldPairs(pairs: string[]): PredictInput {
  const input: PredictInput = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--field takes name=value, got '${pair}'`);
    input[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return input;
}
