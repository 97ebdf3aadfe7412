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
import { checkObject, findDuplicateKeys } from '@boundtoken/api/schema';
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
  throw unsupportedMediaType(type);
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
 * Strict mode, refuses them. With `common`, a JSON body of that shape is decoded by it.
 */
export function decodeObject(
  contentType: string | undefined,
  raw: Buffer,
  expected: ExpectedKind,
  fieldValidation: FieldValidation,
  warnings: string[],
  common?: CommonShape,
): KubeObject {
  const parsed = parseBody(contentType, raw, common);
  return parsed.common ?? checkDecoded(parsed.value, parsed.duplicates, expected, fieldValidation, warnings);
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
