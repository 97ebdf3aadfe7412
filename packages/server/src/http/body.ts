/**
 * Request bodies: JSON (null-tolerant), YAML and Kubernetes protobuf decoded into the JSON form of
 * an object, checked against the kind the URL expects, and checked field by field against the
 * schema (`fieldValidation` Strict / Warn / Ignore) — unknown fields never reach storage.
 *
 * A hot endpoint may pass a decoder for the one shape of JSON body most clients send it (see
 * CommonShape): a body of exactly that shape, without duplicate keys, is decoded without the
 * schema walk and the duplicate-key scan; every other body takes the general path.
 */
import { badRequest, StatusError, unsupportedMediaType, type KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from '@boundtoken/api/protobuf';
import { checkObject, compileKind, findDuplicateKeys, type SchemaNode } from '@boundtoken/api/schema';
import { parseDocument } from 'yaml';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ExpectedKind {
  group: string;
  version: string;
  kind: string;
}

/** The media type without parameters, lower case. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether a body in this media type is JSON. */
function isJson(type: string): boolean {
  return type === '' || type === 'application/json' || type.endsWith('+json') || type === '*/*';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

function groupVersion(e: ExpectedKind): string {
  return e.group ? `${e.group}/${e.version}` : e.version;
}

/**
 * A decoder for the one shape of body most clients send an endpoint: given the parsed JSON, the
 * object `checkDecoded` would make of it — with no unknown fields and no warnings in any
 * `fieldValidation` mode — or undefined whenever the value is anything else. Duplicate keys are
 * ruled out by parseBody.
 */
export type CommonShape = (value: unknown) => KubeObject | undefined;

/** A field of a common shape: a scalar or list of strings, a struct of such fields, or a field that may only be null. */
type ShapeNode = { kind: 'string' | 'bool' | 'int32' | 'int64' | 'strings' | 'null' } | { kind: 'struct'; fields: Map<string, ShapeNode> };

function shapeOf(node: SchemaNode, path: string): ShapeNode {
  switch (node.kind) {
    case 'string':
    case 'bool':
    case 'int32':
    case 'int64':
      return { kind: node.kind };
    case 'list':
      if (node.items.kind === 'string') return { kind: 'strings' };
      break;
    case 'struct':
      return { kind: 'struct', fields: new Map() };
    default:
      // times, quantities, bytes …: only null, which the decoder drops
      return { kind: 'null' };
  }
  throw new TypeError(`commonShape: ${path} is not a string, bool, integer, list of strings or struct`);
}

/**
 * The CommonShape of `expected` bodies that name its apiVersion and kind and have no fields but
 * `paths` (dotted, e.g. `spec.boundObjectRef.name`): each with a value of its schema kind (a
 * string, bool, integer, list of strings, or a struct of listed fields) or null — a time or other
 * special kind only null. Such a body is decoded as checkObject decodes it (nulls dropped, new
 * objects in the same key order); anything else is left to the general decoder.
 */
export function commonShape(expected: ExpectedKind, paths: string[]): CommonShape {
  const root = compileKind(expected);
  if (!root) throw new TypeError(`commonShape: no schema for ${expected.group}/${expected.version}, Kind=${expected.kind}`);
  const top: ShapeNode & { kind: 'struct' } = { kind: 'struct', fields: new Map() };
  for (const path of paths) {
    let schema: SchemaNode = root;
    let shape: ShapeNode = top;
    const parts = path.split('.');
    parts.forEach((part, i) => {
      const field = schema.kind === 'struct' ? schema.fields.get(part) : undefined;
      if (field === undefined || shape.kind !== 'struct') throw new TypeError(`commonShape: ${expected.kind} has no field ${parts.slice(0, i + 1).join('.')}`);
      let next = shape.fields.get(part);
      if (next === undefined) shape.fields.set(part, (next = shapeOf(field, path)));
      schema = field;
      shape = next;
    });
  }
  const apiVersion = groupVersion(expected);
  return (value) => {
    if (!isPlainObject(value) || value.apiVersion !== apiVersion || value.kind !== expected.kind) return undefined;
    const out: Record<string, unknown> = {};
    for (const key in value) {
      const v = value[key];
      if (key === 'apiVersion' || key === 'kind') out[key] = v;
      else if (!decodeField(top.fields.get(key), v, out, key)) return undefined;
    }
    return out as KubeObject;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes `v` into `out[key]` as the schema decoder does (null: left out); false when `v` is not of the shape. */
function decodeField(shape: ShapeNode | undefined, v: unknown, out: Record<string, unknown>, key: string): boolean {
  if (shape === undefined) return false;
  if (v === null) return true;
  switch (shape.kind) {
    case 'null':
      return false;
    case 'string':
      if (typeof v !== 'string') return false;
      break;
    case 'bool':
      if (typeof v !== 'boolean') return false;
      break;
    case 'int32':
      if (!Number.isInteger(v) || (v as number) < -2147483648 || (v as number) > 2147483647) return false;
      break;
    case 'int64':
      if (!Number.isSafeInteger(v)) return false;
      break;
    case 'strings': {
      if (!Array.isArray(v)) return false;
      for (const s of v) if (typeof s !== 'string') return false;
      out[key] = [...v];
      return true;
    }
    case 'struct': {
      if (!isPlainObject(v)) return false;
      const struct: Record<string, unknown> = {};
      for (const k in v) if (!decodeField(shape.fields.get(k), v[k], struct, k)) return false;
      out[key] = struct;
      return true;
    }
  }
  out[key] = v;
  return true;
}

/** The number of object keys in a valid JSON text: every `:` outside a string ends one. */
export function jsonKeyCount(text: string): number {
  let count = 0;
  let i = 0;
  for (;;) {
    const quote = text.indexOf('"', i);
    const end = quote < 0 ? text.length : quote;
    for (let j = i; j < end; j++) if (text.charCodeAt(j) === 0x3a) count++;
    if (quote < 0) return count;
    // the closing quote: the next one not escaped by an odd number of backslashes
    let close = quote;
    for (;;) {
      close = text.indexOf('"', close + 1);
      if (close < 0) return count; // not valid JSON: the caller parsed it, so this cannot happen
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
      if ((backslashes & 1) === 0) break;
    }
    i = close + 1;
  }
}

/** The number of object keys in a parsed JSON value (fewer than in its text when keys repeat). */
export function valueKeyCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const v of value) count += valueKeyCount(v);
    return count;
  }
  for (const key in value) count += 1 + valueKeyCount((value as Record<string, unknown>)[key]);
  return count;
}

export interface ParsedBody {
  value: unknown;
  /** Paths of duplicate keys (JSON). */
  duplicates: string[];
  /** The decoded object, when the body had the common shape the caller offered. */
  common?: KubeObject;
}

/**
 * Parses a body into a plain value (no kind checks). Throws 400 / 415 `Status` errors. With
 * `common`, a JSON body of that shape without duplicate keys comes back decoded as well.
 */
export function parseBody(contentType: string | undefined, raw: Buffer, common?: CommonShape): ParsedBody {
  const type = mediaType(contentType);
  if (raw.length === 0) throw badRequest('the body of the request was empty');
  if (type === PROTOBUF_MEDIA_TYPE) return { value: decodeProtobufObject(raw), duplicates: [] };
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml' || type === 'application/x-yaml') {
    return { value: parseYaml(raw), duplicates: [] };
  }
  if (isJson(type)) {
    const text = raw.toString('utf8');
    const value = parseJson(text);
    if (common !== undefined) {
      const decoded = common(value);
      // no duplicate keys: as many keys in the text as in the value JSON.parse made of it
      if (decoded !== undefined && jsonKeyCount(text) === valueKeyCount(value)) return { value, duplicates: [], common: decoded };
    }
    return { value, duplicates: findDuplicateKeys(text) };
  }
  throw unsupportedMediaType();
}

function parseYaml(raw: Buffer): unknown {
  const doc = parseDocument(raw.toString('utf8'), { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw badRequest(`error converting YAML to JSON: yaml: ${line !== undefined ? `line ${line}: ` : ''}${e.message.split('\n')[0]}`);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Decodes the body of a create or update into an object of the expected kind: the apiVersion and
 * kind must be those of the URL (or absent), then the schema check prunes unknown fields and, in
 * Strict mode, refuses them.
 */
export function decodeObject(
  contentType: string | undefined,
  raw: Buffer,
  expected: ExpectedKind,
  fieldValidation: FieldValidation,
  warnings: string[],
): KubeObject {
  const { value, duplicates } = parseBody(contentType, raw);
  return checkDecoded(value, duplicates, expected, fieldValidation, warnings);
}

export function checkDecoded(
  value: unknown,
  duplicates: string[],
  expected: ExpectedKind,
  fieldValidation: FieldValidation,
  warnings: string[],
): KubeObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    throw badRequest(
      `couldn't get version/kind; json parse error: json: cannot unmarshal ${got} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
    );
  }
  const obj = value as KubeObject;
  const gv = groupVersion(expected);
  if (obj.apiVersion !== undefined && obj.apiVersion !== null && obj.apiVersion !== '' && obj.apiVersion !== gv) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`);
  }
  if (obj.kind !== undefined && obj.kind !== null && obj.kind !== '' && obj.kind !== expected.kind) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${expected.kind}): kind "${String(obj.kind)}" in the data does not match (${gv}, Kind=${expected.kind})`,
    );
  }
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') obj.apiVersion = gv;
  if (typeof obj.kind !== 'string' || obj.kind === '') obj.kind = expected.kind;
  const checked = checkObject(obj, expected, { fieldValidation, duplicateFields: duplicates });
  warnings.push(...checked.warnings);
  return checked.object;
}

/** `fieldValidation` query parameter (default Warn, as kube-apiserver 1.27+). */
export function fieldValidationOf(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new StatusError(400, 'BadRequest', `fieldValidation parameter ${value} is invalid, must be one of Strict, Warn, or Ignore`);
}
