/**
 * Decoding checks: what Kubernetes does when it decodes a JSON body into its typed Go structs.
 *
 * - A value of the wrong JSON type is a 400 with Go's `encoding/json` wording, e.g.
 *   `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct
 *   field PodSpec.spec.containers of type []v1.Container` (the first such error, in document order).
 * - Unknown and duplicate fields are "strict" errors (sigs.k8s.io/json): with
 *   `fieldValidation=Strict` a 400 `… strict decoding error: unknown field "spec.foo", …`, with
 *   `Warn` one warning each, with `Ignore` nothing. In every mode unknown fields are dropped,
 *   because a typed struct has nowhere to keep them.
 * - `null` means absent (Go leaves the field at its zero value); in a list or map it is the
 *   element type's zero value.
 * - Times, quantities and base64 bytes are parsed and re-serialized in canonical form.
 */
import { badRequest, type StatusError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { compileKind, type Node, type StructNode } from './compile.js';
import { canonicalQuantity, QuantityError } from './quantity.js';
import { canonicalTime, TimeParseError } from './time.js';
import type { GroupVersionKind } from './registry.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface CheckOptions {
  fieldValidation: FieldValidation;
  /** Paths of duplicate keys in the request body (see findDuplicateKeys), reported as strict errors. */
  duplicateFields?: string[];
}

export interface CheckResult {
  /** The object as Kubernetes would store it: unknown fields pruned, nulls dropped, values canonical. */
  object: KubeObject;
  /** `Warning` header texts (fieldValidation=Warn). */
  warnings: string[];
}

/** sigs.k8s.io/json keeps at most this many strict errors. */
const MAX_STRICT_ERRORS = 100;

/**
 * Checks and normalizes a decoded request body against the schema of `gvk`. Throws a 400
 * StatusError as Kubernetes would; a kind without a schema is a TypeError (caller misuse).
 */
export function checkObject(obj: unknown, gvk: GroupVersionKind, opts: CheckOptions): CheckResult {
  const decoded = decodeObject(obj, gvk, opts.fieldValidation !== 'Ignore');
  const wrap = (message: string): StatusError =>
    badRequest(`${gvk.kind} in version ${JSON.stringify(gvk.version)} cannot be handled as a ${gvk.kind}: ${message}`);
  if (decoded.error !== undefined) throw wrap(decoded.error);
  const duplicates = (opts.duplicateFields ?? []).map((p) => `duplicate field ${JSON.stringify(p)}`);
  const errors = strictErrors([...duplicates, ...decoded.unknown]);
  if (errors.length > 0 && opts.fieldValidation === 'Strict') {
    throw wrap(`strict decoding error: ${errors.join(', ')}`);
  }
  return { object: decoded.object!, warnings: opts.fieldValidation === 'Warn' ? errors : [] };
}

/** The outcome of decoding a value into a kind, before any fieldValidation policy is applied. */
export interface Decoded {
  /** The normalized object; undefined when `error` is set. */
  object: KubeObject | undefined;
  /** Go's decode error (a type error, a bad time/quantity/base64), which always fails the request. */
  error: string | undefined;
  /** Strict errors for unknown fields (`unknown field "spec.foo"`), when collected. */
  unknown: string[];
}

/** Decodes `obj` into `gvk` as Kubernetes' JSON decoder would, collecting unknown fields if asked. */
export function decodeObject(obj: unknown, gvk: GroupVersionKind, collectUnknown: boolean): Decoded {
  const node = compileKind(gvk);
  if (!node) throw new TypeError(`no schema for ${gvk.group}/${gvk.version}, Kind=${gvk.kind}`);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { object: undefined, error: `json: cannot unmarshal ${jsonKind(obj)} into Go value of type ${node.goType}`, unknown: [] };
  }
  const decoder = new Decoder(collectUnknown);
  let object: KubeObject;
  try {
    object = decoder.struct(obj as Record<string, unknown>, node) as KubeObject;
  } catch (err) {
    if (err instanceof DecodeError) return { object: undefined, error: err.message, unknown: [] };
    throw err;
  }
  if (decoder.firstError !== undefined) return { object: undefined, error: decoder.firstError, unknown: [] };
  return { object, error: undefined, unknown: decoder.unknown };
}

/** Deduplicated and capped as sigs.k8s.io/json keeps them. */
export function strictErrors(errors: string[]): string[] {
  return [...new Set(errors)].slice(0, MAX_STRICT_ERRORS);
}

/** An error that stops decoding at once (Go's UnmarshalJSON errors do), rather than being saved. */
class DecodeError extends Error {}

/**
 * One decode. `path` is the strict-error path (`spec.containers[0].image`); `goFields` and
 * `goStruct` are Go's error context (`PodSpec` and `spec.containers`, indices left out).
 */
class Decoder {
  /** The first type error, as Go's decoder saves it and carries on. */
  firstError: string | undefined;
  readonly unknown: string[] = [];
  private readonly path: string[] = [];
  private readonly goFields: string[] = [];
  private goStruct = '';

  constructor(private readonly collectUnknown: boolean) {}

  struct(value: Record<string, unknown>, node: StructNode): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const savedStruct = this.goStruct;
    for (const key in value) {
      const v = value[key];
      const field = node.fields.get(key);
      if (!field) {
        if (this.collectUnknown && this.unknown.length < MAX_STRICT_ERRORS) {
          this.unknown.push(`unknown field ${JSON.stringify(this.pathTo(key))}`);
        }
        continue;
      }
      if (v === null || v === undefined) continue;
      const embedded = node.inline.get(key);
      if (embedded) this.goFields.push(embedded);
      this.goFields.push(key);
      this.goStruct = node.goName;
      this.path.push(key);
      const decoded = this.value(v, field);
      this.path.pop();
      this.goFields.length -= embedded ? 2 : 1;
      this.goStruct = savedStruct;
      if (decoded !== undefined) out[key] = decoded;
    }
    return out;
  }

  /** Decodes one non-null value; undefined when it could not be decoded (the error is saved). */
  private value(v: unknown, node: Node): unknown {
    switch (node.kind) {
      case 'string':
        return typeof v === 'string' ? v : this.typeError(v, node.goType);
      case 'bytes':
        if (typeof v !== 'string') return this.typeError(v, node.goType);
        return this.base64(v);
      case 'bool':
        return typeof v === 'boolean' ? v : this.typeError(v, node.goType);
      case 'int32':
      case 'int64':
        if (typeof v !== 'number') return this.typeError(v, node.goType);
        if (!Number.isInteger(v) || !inRange(v, node.kind)) return this.typeError(v, node.goType, `number ${numberText(v)}`);
        return v;
      case 'float':
        return typeof v === 'number' ? v : this.typeError(v, node.goType);
      case 'time':
        if (typeof v !== 'string') throw new DecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`);
        try {
          return canonicalTime(v, node.micro);
        } catch (err) {
          if (err instanceof TimeParseError) throw new DecodeError(err.message);
          throw err;
        }
      case 'quantity':
        if (typeof v !== 'string' && typeof v !== 'number') throw new DecodeError(QUANTITY_ERROR);
        try {
          return canonicalQuantity(v);
        } catch (err) {
          if (err instanceof QuantityError) throw new DecodeError(err.message);
          throw err;
        }
      case 'intOrString':
        if (typeof v === 'string') return v;
        if (typeof v === 'number' && Number.isInteger(v) && inRange(v, 'int32')) return v;
        throw new DecodeError(
          `json: cannot unmarshal ${typeof v === 'number' ? `number ${numberText(v)}` : jsonKind(v)} into Go value of type int32`,
        );
      case 'opaque':
        return v;
      case 'struct':
        if (typeof v !== 'object' || Array.isArray(v)) return this.typeError(v, node.goType);
        return this.struct(v as Record<string, unknown>, node);
      case 'list': {
        if (!Array.isArray(v)) return this.typeError(v, node.goType);
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          this.path.push(`[${i}]`);
          const decoded = item === null ? zeroValue(node.items) : this.value(item, node.items);
          this.path.pop();
          out[i] = decoded === undefined ? zeroValue(node.items) : decoded;
        }
        return out;
      }
      case 'map': {
        if (typeof v !== 'object' || Array.isArray(v)) return this.typeError(v, node.goType);
        const out: Record<string, unknown> = {};
        const obj = v as Record<string, unknown>;
        for (const key in obj) {
          const item = obj[key];
          this.path.push(key);
          const decoded = item === null ? zeroValue(node.values) : this.value(item, node.values);
          this.path.pop();
          out[key] = decoded === undefined ? zeroValue(node.values) : decoded;
        }
        return out;
      }
    }
  }

  /** Saves Go's UnmarshalTypeError for the current field (the first one wins) and skips the value. */
  private typeError(v: unknown, goType: string, what = jsonKind(v)): undefined {
    if (this.firstError === undefined) {
      this.firstError = this.goFields.length
        ? `json: cannot unmarshal ${what} into Go struct field ${this.goStruct}.${this.goFields.join('.')} of type ${goType}`
        : `json: cannot unmarshal ${what} into Go value of type ${goType}`;
    }
    return undefined;
  }

  private base64(v: string): string | undefined {
    const s = v.includes('\n') || v.includes('\r') ? v.replace(/[\r\n]/g, '') : v;
    const bad = base64ErrorOffset(s);
    if (bad !== undefined) {
      if (this.firstError === undefined) this.firstError = `illegal base64 data at input byte ${bad}`;
      return undefined;
    }
    return s;
  }

  private pathTo(key: string): string {
    let p = '';
    for (const seg of this.path) p = seg.startsWith('[') || p === '' ? p + seg : `${p}.${seg}`;
    return p === '' ? key : `${p}.${key}`;
  }
}

const QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Go's names for JSON value kinds in UnmarshalTypeError. */
function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

function numberText(v: number): string {
  return String(v).replace('e+', 'e');
}

function inRange(v: number, kind: 'int32' | 'int64'): boolean {
  return kind === 'int32' ? v >= -2147483648 && v <= 2147483647 : Number.isSafeInteger(v) || Math.abs(v) < 2 ** 63;
}

/** The value Go leaves in a list or map element decoded from `null`. */
function zeroValue(node: Node): unknown {
  switch (node.kind) {
    case 'string':
    case 'bytes':
      return '';
    case 'int32':
    case 'int64':
    case 'float':
    case 'intOrString':
      return 0;
    case 'bool':
      return false;
    case 'quantity':
      return '0';
    case 'struct':
      return {};
    default:
      return null;
  }
}

const BASE64_CHAR = /[A-Za-z0-9+/]/;

/** Where Go's base64.StdEncoding rejects `s`, or undefined if it is valid. */
function base64ErrorOffset(s: string): number | undefined {
  const n = s.length;
  let pad = 0;
  for (let i = 0; i < n; i++) {
    const c = s[i]!;
    if (c === '=') {
      if (i % 4 < 2) return i;
      pad = i;
      break;
    }
    if (!BASE64_CHAR.test(c)) return i;
  }
  if (pad) {
    const quantum = pad % 4;
    // "x=" must be followed by "=" to complete the quantum, and nothing may follow the padding
    if (quantum === 2 && s[pad + 1] !== '=') return pad + 1 < n ? pad + 1 : n;
    const end = quantum === 2 ? pad + 2 : pad + 1;
    if (end < n) return end;
    return undefined;
  }
  if (n % 4 !== 0) return n - (n % 4);
  return undefined;
}
