/**
 * skl2onnx and onnxmltools end a classifier in ZipMap by default: its probabilities as a sequence
 * of {class: p} maps, which neither onnxruntime package hands to JavaScript. ZipMap only labels the
 * float tensor [N, classes] it is given, so a graph output a ZipMap makes is served as that tensor:
 * the node becomes an Identity of its input and the output is declared float [N, classes]. The
 * rewrite works on the model's bytes before a session is made (the stored object and its sha256
 * stay as uploaded); it reads only the fields on its way and copies every other byte as it was.
 */
import { concatBytes } from '../features';
import { bytesField, intField, readFields, stringField, text, textOf, type WireField } from './protobuf-wire';

/** A graph output that a ZipMap made, now its input tensor. */
export interface UnwrappedOutput {
  output: string;
  /** the ZipMap's string class labels in column order; null when its labels are integers */
  classLabels: string[] | null;
  classes: number;
}

// ONNX field numbers (onnx.proto3)
const MODEL = { opsetImport: 8, graph: 7 } as const;
const GRAPH = { node: 1, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, ints: 8, strings: 9 } as const;
const ML_DOMAIN = 'ai.onnx.ml';
const FLOAT = 1;
const DEFAULT_OPSET = 13;

const isMessage = (f: WireField, no: number) => f.no === no && f.wire === 2;
const fieldsOf = (buf: Uint8Array, f: WireField) => readFields(buf, f.dataStart, f.end);

/** The ZipMap's class labels: `classlabels_strings`, or how many `classlabels_int64s` it has. */
function classLabelsOf(buf: Uint8Array, node: readonly WireField[]): Omit<UnwrappedOutput, 'output'> {
  for (const a of node.filter((f) => isMessage(f, NODE.attribute))) {
    const attr = fieldsOf(buf, a);
    const name = textOf(buf, attr, ATTRIBUTE.name);
    if (name === 'classlabels_strings') {
      const labels = attr.filter((f) => isMessage(f, ATTRIBUTE.strings)).map((f) => text(buf, f));
      return { classLabels: labels, classes: labels.length };
    }
    if (name === 'classlabels_int64s') {
      // repeated int64: one varint field each, or packed into one length-delimited field
      let classes = 0;
      for (const f of attr.filter((x) => x.no === ATTRIBUTE.ints)) {
        classes += f.wire === 0 ? 1 : readPackedCount(buf, f);
      }
      return { classLabels: null, classes };
    }
  }
  return { classLabels: null, classes: 0 };
}

function readPackedCount(buf: Uint8Array, f: WireField): number {
  let count = 0;
  for (let i = f.dataStart; i < f.end; i++) if ((buf[i] as number) < 0x80) count++;
  return count;
}

/** ValueInfoProto: `name`, float tensor [N, classes] (a symbolic class dim when it is unknown). */
function floatMatrixInfo(name: string, classes: number): Uint8Array {
  const batch = bytesField(1, stringField(2, 'N'));
  const columns = bytesField(1, classes > 0 ? intField(1, classes) : stringField(2, 'classes'));
  const tensor = concatBytes([intField(1, FLOAT), bytesField(2, concatBytes([batch, columns]))]);
  return concatBytes([stringField(1, name), bytesField(2, bytesField(1, tensor))]);
}

function identityNode(name: string, input: string, output: string): Uint8Array {
  return concatBytes([
    stringField(NODE.input, input),
    stringField(NODE.output, output),
    stringField(NODE.name, name),
    stringField(NODE.opType, 'Identity'),
  ]);
}

/**
 * The model with every ZipMap whose output is a graph output and no node's input replaced (see the module note), and
 * what was replaced; the same bytes and an empty list when there is none, or when the bytes are not
 * an ONNX model this can read (the runtime then reports what is wrong with them).
 */
export function unwrapZipMap(model: Uint8Array): { model: Uint8Array; unwrapped: UnwrappedOutput[] } {
  try {
    return rewrite(model);
  } catch {
    return { model, unwrapped: [] };
  }
}

function rewrite(model: Uint8Array): { model: Uint8Array; unwrapped: UnwrappedOutput[] } {
  const unchanged = { model, unwrapped: [] };
  const top = readFields(model);
  const graph = top.find((f) => isMessage(f, MODEL.graph));
  if (!graph) return unchanged;
  const fields = fieldsOf(model, graph);
  const nameOf = (f: WireField) => textOf(model, fieldsOf(model, f), 1);
  const graphOutputs = new Set(fields.filter((f) => isMessage(f, GRAPH.output)).map(nameOf));
  const nodeFields = fields.filter((f) => isMessage(f, GRAPH.node)).map((f) => ({ f, node: fieldsOf(model, f) }));
  // maps another node reads must stay maps
  const consumed = new Set(
    nodeFields.flatMap(({ node }) => node.filter((x) => isMessage(x, NODE.input)).map((x) => text(model, x))),
  );
  const nodes = new Map<WireField, Uint8Array>();
  const unwrapped: UnwrappedOutput[] = [];
  for (const { f, node } of nodeFields) {
    if (textOf(model, node, NODE.opType) !== 'ZipMap' || textOf(model, node, NODE.domain) !== ML_DOMAIN) continue;
    const inputs = node.filter((x) => isMessage(x, NODE.input)).map((x) => text(model, x));
    const outputs = node.filter((x) => isMessage(x, NODE.output)).map((x) => text(model, x));
    const [input] = inputs;
    const [output] = outputs;
    if (inputs.length !== 1 || outputs.length !== 1 || !input || !output) continue;
    if (!graphOutputs.has(output) || consumed.has(output)) continue;
    nodes.set(f, identityNode(textOf(model, node, NODE.name) ?? 'ZipMap', input, output));
    unwrapped.push({ output, ...classLabelsOf(model, node) });
  }
  if (unwrapped.length === 0) return unchanged;
  const byOutput = new Map(unwrapped.map((u) => [u.output, u]));
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    const node = nodes.get(f);
    const info =
      isMessage(f, GRAPH.output) || isMessage(f, GRAPH.valueInfo) ? byOutput.get(nameOf(f) ?? '') : undefined;
    if (node) parts.push(bytesField(GRAPH.node, node));
    else if (info && f.no === GRAPH.output)
      parts.push(bytesField(GRAPH.output, floatMatrixInfo(info.output, info.classes)));
    else if (!info) parts.push(model.subarray(f.start, f.end));
    // a value_info entry for a replaced output is dropped: it declared the sequence of maps
  }
  const rebuilt = top.map((f) =>
    f === graph ? bytesField(MODEL.graph, concatBytes(parts)) : model.subarray(f.start, f.end),
  );
  // Identity lives in the default domain, which an ML-only model may not import: opset 13 (within
  // every onnxruntime's support; below 7 it only warns that it may not run)
  const importsDefault = top.some(
    (f) => isMessage(f, MODEL.opsetImport) && (textOf(model, fieldsOf(model, f), 1) ?? '') === '',
  );
  if (!importsDefault) rebuilt.push(bytesField(MODEL.opsetImport, intField(2, DEFAULT_OPSET)));
  return { model: concatBytes(rebuilt), unwrapped };
}
