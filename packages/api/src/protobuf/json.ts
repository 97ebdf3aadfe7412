/**
 * Maps decoded protobufjs messages to the Kubernetes JSON form of the same object, and back.
 *
 * The rules are those of Go's encoding/json on the Kubernetes structs:
 * - a pointer field (ptr) appears when it was sent, even with a zero value;
 * - a plain scalar is dropped when zero, unless its JSON tag has no omitempty (keep);
 * - a plain struct always appears (`{}` when empty); an embedded one (inline) merges into its parent;
 * - empty lists and maps are dropped (Go would write `null` for some; null and absent mean the same);
 * - a zero metav1.Time is dropped (Go writes `null`);
 * - []byte is base64; maps are emitted with sorted keys, as Go does.
 */
import { goSortedKeys } from '../go-order.js';
import { malformed } from './errors.js';
import type { FieldInfo, MessageInfo, ScalarType } from './registry.js';
import { formatTime, isQuantity, parseTime, QUANTITY_FORMAT_MESSAGE } from './wellknown.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
/** A protobufjs message instance or a plain object in its shape. */
type Message = Record<string, unknown>;

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

// ---------------------------------------------------------------------------------------------
// protobuf → JSON

export function messageToJson(info: MessageInfo, m: Message | null | undefined, out: JsonObject = {}): JsonObject {
  for (const f of info.fields) {
    const present = m != null && has(m, f.name);
    const v = present ? m[f.name] : undefined;
    if (f.kind === 'map') {
      const entries = v ? goSortedKeys(v as object) : [];
      if (entries.length === 0) continue;
      const obj: JsonObject = {};
      for (const key of entries) obj[key] = valueToJson(f, (v as Message)[key]) ?? null;
      out[f.name] = obj;
    } else if (f.repeated) {
      const list = (v as unknown[] | undefined) ?? [];
      if (list.length === 0) continue;
      out[f.name] = list.map((e) => valueToJson(f, e) ?? null);
    } else if (f.kind === 'message') {
      if (f.ptr && !present) continue;
      if (f.inline) {
        messageToJson(f.message!, v as Message | undefined, out);
        continue;
      }
      const json = valueToJson(f, v ?? null);
      if (json !== undefined) out[f.name] = json;
    } else if (f.ptr) {
      if (present) out[f.name] = scalarToJson(f.scalar!, v);
    } else {
      const json = scalarToJson(f.scalar!, present ? v : zeroOf(f.scalar!));
      if (f.keep || !isZero(json)) out[f.name] = json;
    }
  }
  return out;
}

/** One value of a field (a list element, a map value, or the single value); undefined means "omit". */
function valueToJson(f: FieldInfo, v: unknown): Json | undefined {
  if (f.message) return specialOrMessageToJson(f.message, v as Message | null);
  return scalarToJson(f.scalar!, v);
}

function specialOrMessageToJson(info: MessageInfo, m: Message | null): Json | undefined {
  switch (info.special) {
    case undefined:
      return messageToJson(info, m);
    case 'time':
    case 'microTime': {
      // An empty message is the zero time (Go marshals a zero Time as zero bytes).
      if (!m || (!has(m, 'seconds') && !has(m, 'nanos'))) return undefined;
      return formatTime(int64ToNumber(m.seconds ?? 0, 'seconds'), Number(m.nanos ?? 0), info.special === 'microTime');
    }
    case 'quantity': {
      const s = m && has(m, 'string') ? String(m.string) : '0';
      if (!isQuantity(s)) throw malformed(QUANTITY_FORMAT_MESSAGE);
      return s;
    }
    case 'intOrString': {
      const type = m && has(m, 'type') ? int64ToNumber(m.type, 'type') : 0;
      if (type === 0) return m && has(m, 'intVal') ? Number(m.intVal) : 0;
      if (type === 1) return m && has(m, 'strVal') ? String(m.strVal) : '';
      throw malformed(`impossible IntOrString.Type ${type}`);
    }
    case 'fieldsV1': {
      const raw = m && has(m, 'Raw') ? (m.Raw as Uint8Array) : undefined;
      if (!raw || raw.length === 0) return undefined;
      try {
        return JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as Json;
      } catch {
        throw malformed('FieldsV1 is not valid JSON');
      }
    }
    case 'extraValue':
      return [...((m?.items as string[] | undefined) ?? [])];
  }
}

function scalarToJson(scalar: ScalarType, v: unknown): Json {
  switch (scalar) {
    case 'string':
      return String(v);
    case 'bool':
      return Boolean(v);
    case 'int32':
      return Number(v);
    case 'int64':
      return int64ToNumber(v, 'int64');
    case 'bytes': {
      const b = v as Uint8Array;
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    }
  }
}

function zeroOf(scalar: ScalarType): unknown {
  return scalar === 'string' ? '' : scalar === 'bool' ? false : scalar === 'bytes' ? new Uint8Array() : 0;
}

function isZero(json: Json): boolean {
  return json === '' || json === 0 || json === false;
}

/** protobufjs returns int64 as a Long when the `long` package is around, else as a number. */
function int64ToNumber(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  const n = Number(String(v)); // Long#toString is exact
  if (!Number.isSafeInteger(n)) throw malformed(`proto: ${what} ${String(v)} does not fit a JSON number exactly`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// JSON → protobuf (the message object protobufjs encodes). Caller misuse throws TypeError.

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

export function messageFromJson(
  info: MessageInfo,
  obj: Record<string, unknown>,
  path: string,
  consumed: Set<string> = new Set(),
  ownKeys = true,
): Message {
  const msg: Message = {};
  for (const f of info.fields) {
    const fieldPath = path ? `${path}.${f.name}` : f.name;
    if (f.inline) {
      msg[f.name] = messageFromJson(f.message!, obj, path, consumed, false);
      continue;
    }
    consumed.add(f.name);
    const v = obj[f.name];
    if (f.kind === 'map') {
      if (v == null) continue;
      if (!isPlainObject(v)) throw new TypeError(`${fieldPath} must be an object`);
      const map: Message = {};
      for (const key of goSortedKeys(v)) map[key] = valueFromJson(f, v[key], `${fieldPath}[${key}]`);
      msg[f.name] = map;
    } else if (f.repeated) {
      if (v == null) continue;
      if (!Array.isArray(v)) throw new TypeError(`${fieldPath} must be an array`);
      msg[f.name] = v.map((e, i) => valueFromJson(f, e, `${fieldPath}[${i}]`));
    } else if (v == null) {
      // Go writes every non-pointer field, zero or not; a pointer only when set.
      if (f.ptr) continue;
      msg[f.name] = f.message ? specialOrMessageFromJson(f.message, undefined, fieldPath) : zeroOf(f.scalar!);
    } else {
      msg[f.name] = valueFromJson(f, v, fieldPath);
    }
  }
  if (ownKeys) {
    for (const key of Object.keys(obj)) {
      if (!consumed.has(key) && obj[key] !== undefined) throw new TypeError(`unknown field ${path ? `${path}.${key}` : key}`);
    }
  }
  return msg;
}

function valueFromJson(f: FieldInfo, v: unknown, path: string): unknown {
  if (f.message) return specialOrMessageFromJson(f.message, v, path);
  return scalarFromJson(f.scalar!, v, path);
}

function specialOrMessageFromJson(info: MessageInfo, v: unknown, path: string): Message {
  switch (info.special) {
    case undefined:
      if (v == null) return messageFromJson(info, {}, path);
      if (!isPlainObject(v)) throw new TypeError(`${path} must be an object`);
      return messageFromJson(info, v, path);
    case 'time':
    case 'microTime': {
      if (v == null) return {};
      const t = typeof v === 'string' ? parseTime(v) : undefined;
      if (!t) throw new TypeError(`${path} must be an RFC 3339 time`);
      const nanos = info.special === 'time' ? 0 : Math.floor(t.nanos / 1000) * 1000;
      return { seconds: t.seconds, nanos };
    }
    case 'quantity': {
      // Go's Quantity.UnmarshalJSON also takes a bare JSON number.
      const s = v == null ? '0' : typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
      if (typeof s !== 'string' || !isQuantity(s)) throw new TypeError(`${path} must be a quantity string`);
      return { string: s };
    }
    case 'intOrString':
      if (v == null) return { type: 0, intVal: 0, strVal: '' };
      if (typeof v === 'string') return { type: 1, intVal: 0, strVal: v };
      if (Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31) {
        return { type: 0, intVal: v, strVal: '' };
      }
      throw new TypeError(`${path} must be an int32 or a string`);
    case 'fieldsV1':
      return v == null ? {} : { Raw: Buffer.from(JSON.stringify(v)) };
    case 'extraValue':
      if (v == null) return { items: [] };
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new TypeError(`${path} must be a string array`);
      return { items: v };
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function scalarFromJson(scalar: ScalarType, v: unknown, path: string): unknown {
  switch (scalar) {
    case 'string':
      if (typeof v !== 'string') throw new TypeError(`${path} must be a string`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new TypeError(`${path} must be a boolean`);
      return v;
    case 'int32':
      if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) {
        throw new TypeError(`${path} must be an int32`);
      }
      return v;
    case 'int64':
      if (!Number.isSafeInteger(v)) throw new TypeError(`${path} must be an integer`);
      return v;
    case 'bytes':
      if (typeof v !== 'string' || !BASE64.test(v)) throw new TypeError(`${path} must be a base64 string`);
      return Buffer.from(v, 'base64');
  }
}
