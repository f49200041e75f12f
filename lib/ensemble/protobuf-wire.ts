/**
 * Just enough of the protobuf wire format to read the few ONNX fields a rewrite looks at and copy
 * every other field as the bytes it was (zipmap.ts): no schema, no dependency in the Worker. Every
 * read is bounds-checked and throws `WireError` on bytes that are not a message.
 */

import { concatBytes } from '../features';

export class WireError extends Error {}

/** One field of a message: its number, wire type and where its bytes lie in the buffer. */
export interface WireField {
  no: number;
  wire: number;
  /** first byte of the field (its key) and one past its last byte */
  start: number;
  end: number;
  /** a length-delimited field's payload: [dataStart, end) */
  dataStart: number;
  /** a varint field's value (exact below 2^53; larger ones are only counted, never used) */
  value: number;
}

function readVarint(buf: Uint8Array, at: number, end: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at + i >= end) throw new WireError('truncated varint');
    const b = buf[at + i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, next: at + i + 1 };
  }
  throw new WireError('varint longer than 10 bytes');
}

/** The fields of the message in buf[start, end), in order. */
export function readFields(buf: Uint8Array, start = 0, end = buf.length): WireField[] {
  const fields: WireField[] = [];
  let at = start;
  while (at < end) {
    const key = readVarint(buf, at, end);
    const no = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (no === 0) throw new WireError('field number 0');
    let dataStart = key.next;
    let next: number;
    let value = 0;
    if (wire === 0) {
      const v = readVarint(buf, key.next, end);
      value = v.value;
      next = v.next;
    } else if (wire === 1 || wire === 5) {
      next = key.next + (wire === 1 ? 8 : 4);
    } else if (wire === 2) {
      const len = readVarint(buf, key.next, end);
      dataStart = len.next;
      next = len.next + len.value;
    } else {
      throw new WireError(`wire type ${wire} is not used by ONNX`);
    }
    if (next > end) throw new WireError('field runs past its message');
    fields.push({ no, wire, start: at, end: next, dataStart, value });
    at = next;
  }
  return fields;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A length-delimited field's payload as UTF-8 text. */
export const text = (buf: Uint8Array, f: WireField): string => decoder.decode(buf.subarray(f.dataStart, f.end));

/** The first field numbered `no` with wire type 2, as text (undefined when absent). */
export function textOf(buf: Uint8Array, fields: readonly WireField[], no: number): string | undefined {
  const f = fields.find((x) => x.no === no && x.wire === 2);
  return f ? text(buf, f) : undefined;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Field `no` holding a message or bytes. */
export const bytesField = (no: number, payload: Uint8Array): Uint8Array =>
  concatBytes([Uint8Array.from([...varintBytes(no * 8 + 2), ...varintBytes(payload.length)]), payload]);

export const stringField = (no: number, s: string): Uint8Array => bytesField(no, encoder.encode(s));

/** Field `no` holding a non-negative integer. */
export const intField = (no: number, v: number): Uint8Array =>
  Uint8Array.from([...varintBytes(no * 8), ...varintBytes(v)]);
