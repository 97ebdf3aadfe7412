/**
 * Request bodies: JSON (null-tolerant), YAML and Kubernetes protobuf decoded into the JSON form of
 * an object, checked against the kind the URL expects, and checked field by field against the
 * schema (`fieldValidation` Strict / Warn / Ignore) — unknown fields never reach storage.
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

function groupVersion(e: ExpectedKind): string {
  return e.group ? `${e.group}/${e.version}` : e.version;
}

/** Parses a body into a plain value (no kind checks). Throws 400 / 415 `Status` errors. */
export function parseBody(contentType: string | undefined, raw: Buffer): { value: unknown; duplicates: string[] } {
  const type = mediaType(contentType);
  if (raw.length === 0) throw badRequest('the body of the request was empty');
  if (type === PROTOBUF_MEDIA_TYPE) return { value: decodeProtobufObject(raw), duplicates: [] };
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml' || type === 'application/x-yaml') {
    return { value: parseYaml(raw), duplicates: [] };
  }
  if (type === '' || type === 'application/json' || type.endsWith('+json') || type === '*/*') {
    const text = raw.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
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
