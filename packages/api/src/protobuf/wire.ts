/**
 * Checks a protobuf message against its schema before protobufjs decodes it.
 *
 * protobufjs' generated decoders trust the wire: a field sent with the wrong wire type is misread rather
 * than refused, a 10-byte length is silently truncated to 32 bits, strings are decoded lossily, and
 * unknown fields are always skipped. Go's generated code refuses the first two, so this walk (on
 * protobufjs' Reader) refuses them too, requires valid UTF-8 in string fields, bounds nesting, and
 * refuses unknown fields in messages we model only in part. Every read is bounded by the enclosing
 * message's end, so truncated or hostile input fails fast with a `ProtobufError`.
 */
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import type { Reader } from 'protobufjs';
import { malformed, ProtobufError } from './errors.js';
import type { FieldInfo, MessageInfo, ScalarType } from './registry.js';

/** Go's generated code has no limit; ours is far above any real object's depth. */
const MAX_DEPTH = 100;

export function checkWire(info: MessageInfo, buf: Uint8Array): void {
  const r = protobuf.Reader.create(buf);
  checkMessage(info, r, buf.length, 0, '');
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function checkMessage(info: MessageInfo, r: Reader, end: number, depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw malformed('proto: exceeded maximum nesting depth');
  while (r.pos < end) {
    const tag = readVarint(r, end, 5);
    const id = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (id === 0) throw malformed(`proto: ${shortName(info)}: illegal tag 0 (wire type ${wireType})`);
    const field = info.byId.get(id);
    if (!field) {
      if (info.partial) {
        throw new ProtobufError(
          'ERR_PROTOBUF_UNSUPPORTED_FIELD',
          `${path || shortName(info)}: field number ${id} of ${shortName(info)} is not supported in protobuf by this server; send the object as application/json`,
        );
      }
      skipField(r, wireType, id, end, depth);
      continue;
    }
    const fieldPath = join(path, field.name);
    if (field.kind === 'scalar' && field.repeated && field.wireType === 0 && wireType === 2) {
      // A packed repeated varint field: Go's decoders accept both encodings.
      const stop = readLength(r, end);
      while (r.pos < stop) readVarint(r, stop, 10);
      continue;
    }
    if (wireType !== field.wireType) {
      throw malformed(`proto: wrong wireType = ${wireType} for field ${fieldPath}`);
    }
    checkValue(field, r, end, depth, fieldPath);
  }
  if (r.pos !== end) throw malformed('unexpected EOF');
}

function checkValue(field: FieldInfo, r: Reader, end: number, depth: number, path: string): void {
  if (field.kind === 'map') {
    checkMapEntry(field, r, readLength(r, end), depth + 1, path);
  } else if (field.kind === 'message') {
    const stop = readLength(r, end);
    checkMessage(field.message!, r, stop, depth + 1, path);
  } else {
    checkScalar(field.scalar!, r, end, path);
  }
}

function checkScalar(scalar: ScalarType, r: Reader, end: number, path: string): void {
  if (scalar === 'string' || scalar === 'bytes') {
    const stop = readLength(r, end);
    if (scalar === 'string' && !isUtf8(r.buf.subarray(r.pos, stop))) {
      throw malformed(`proto: field ${path} contains invalid UTF-8`);
    }
    r.pos = stop;
  } else {
    readVarint(r, end, 10);
  }
}

/** A map entry is a message { 1: key (string), 2: value }. */
function checkMapEntry(field: FieldInfo, r: Reader, end: number, depth: number, path: string): void {
  while (r.pos < end) {
    const tag = readVarint(r, end, 5);
    const id = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (id === 0) throw malformed(`proto: ${path}: illegal tag 0 (wire type ${wireType})`);
    if (id === 1) {
      if (wireType !== 2) throw malformed(`proto: wrong wireType = ${wireType} for field ${path} (map key)`);
      checkScalar('string', r, end, `${path} (map key)`);
    } else if (id === 2) {
      const expected = field.message || field.scalar === 'string' || field.scalar === 'bytes' ? 2 : 0;
      if (wireType !== expected) {
        throw malformed(`proto: wrong wireType = ${wireType} for field ${path} (map value)`);
      }
      if (field.message) checkMessage(field.message, r, readLength(r, end), depth + 1, path);
      else checkScalar(field.scalar!, r, end, path);
    } else {
      skipField(r, wireType, id, end, depth);
    }
  }
  if (r.pos !== end) throw malformed('unexpected EOF');
}

function skipField(r: Reader, wireType: number, id: number, end: number, depth: number): void {
  switch (wireType) {
    case 0:
      readVarint(r, end, 10);
      return;
    case 1:
      advance(r, 8, end);
      return;
    case 2:
      r.pos = readLength(r, end);
      return;
    case 5:
      advance(r, 4, end);
      return;
    case 3: {
      if (depth > MAX_DEPTH) throw malformed('proto: exceeded maximum nesting depth');
      for (;;) {
        if (r.pos >= end) throw malformed('unexpected EOF');
        const tag = readVarint(r, end, 5);
        const inner = tag % 8;
        if (inner === 4) {
          if (Math.floor(tag / 8) !== id) throw malformed('proto: mismatched end group');
          return;
        }
        skipField(r, inner, Math.floor(tag / 8), end, depth + 1);
      }
    }
    case 4:
      throw malformed('proto: unexpected end group');
    default:
      throw malformed(`proto: illegal wireType ${wireType}`);
  }
}

function advance(r: Reader, n: number, end: number): void {
  if (end - r.pos < n) throw malformed('unexpected EOF');
  r.pos += n;
}

/**
 * Reads a varint of at most `maxBytes` bytes. Returns its value when it fits a double exactly
 * (callers only use the value of tags and lengths).
 */
function readVarint(r: Reader, end: number, maxBytes: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (r.pos >= end) throw malformed('unexpected EOF');
    if (i >= maxBytes) throw malformed('proto: integer overflow');
    const b = r.buf[r.pos++]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return value;
  }
}

/** Reads a length prefix and returns the end offset of the bytes it announces. */
function readLength(r: Reader, end: number): number {
  const len = readVarint(r, end, 10);
  if (len > 0x7fffffff) throw malformed('proto: negative length found during unmarshaling');
  if (len > end - r.pos) throw malformed('unexpected EOF');
  return r.pos + len;
}

function shortName(info: MessageInfo): string {
  return info.name.slice(info.name.lastIndexOf('.') + 1);
}
