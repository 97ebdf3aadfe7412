/**
 * Compiles the .proto sources once, at module load, and derives what the wire checker and the JSON
 * mapping need per message: fields in Go struct order, expected wire types, and the Go facts carried
 * by the custom options (see schema/meta.ts).
 */
import protobuf from 'protobufjs';
import type { Field, MapField, Type } from 'protobufjs';
import { KIND_MESSAGES, PROTO_SOURCES } from './schema/index.js';

export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'int64';

/** Messages whose JSON form is not an object (metav1.Time → RFC 3339 string, Quantity → string, …). */
export type SpecialKind = 'time' | 'microTime' | 'quantity' | 'intOrString' | 'fieldsV1' | 'extraValue';

export interface FieldInfo {
  /** The JSON name (also the protobuf field name). */
  readonly name: string;
  readonly id: number;
  readonly kind: 'scalar' | 'message' | 'map';
  readonly repeated: boolean;
  /** Scalar type of a scalar field, or of a map's value when it is a scalar. */
  readonly scalar?: ScalarType;
  /** Message type of a message field, or of a map's value when it is a message. */
  readonly message?: MessageInfo;
  readonly wireType: number;
  readonly ptr: boolean;
  readonly keep: boolean;
  readonly inline: boolean;
}

export interface MessageInfo {
  /** Full name without the leading dot, e.g. `authentication.v1.TokenRequest`. */
  readonly name: string;
  readonly type: Type;
  readonly fields: FieldInfo[];
  readonly byId: Map<number, FieldInfo>;
  readonly partial: boolean;
  readonly special?: SpecialKind;
}

const SPECIAL: Record<string, SpecialKind> = {
  'meta.v1.Time': 'time',
  'meta.v1.MicroTime': 'microTime',
  'resource.Quantity': 'quantity',
  'intstr.IntOrString': 'intOrString',
  'meta.v1.FieldsV1': 'fieldsV1',
  'authentication.v1.ExtraValue': 'extraValue',
  'authorization.v1.ExtraValue': 'extraValue',
};

const SCALARS = new Set<string>(['string', 'bytes', 'bool', 'int32', 'int64']);

function wireTypeOf(scalar: ScalarType | undefined): number {
  return scalar === undefined || scalar === 'string' || scalar === 'bytes' ? 2 : 0;
}

function compile(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of PROTO_SOURCES) protobuf.parse(`syntax = "proto2";\n${source}`, root, { keepCase: true });
  root.resolveAll();
  return root;
}

const root = compile();
const infos = new Map<string, MessageInfo>();

function messageInfo(type: Type): MessageInfo {
  const name = type.fullName.slice(1);
  const known = infos.get(name);
  if (known) return known;
  const fields: FieldInfo[] = [];
  const info: MessageInfo = {
    name,
    type,
    fields,
    byId: new Map(),
    partial: type.options?.['(partial)'] === true,
    ...(SPECIAL[name] ? { special: SPECIAL[name] } : {}),
  };
  infos.set(name, info);
  for (const field of type.fieldsArray) {
    const f = fieldInfo(field);
    fields.push(f);
    info.byId.set(f.id, f);
  }
  type.setup(); // generate protobufjs' encoder and decoder now, not on the first request
  return info;
}

function fieldInfo(field: Field): FieldInfo {
  const isMap = field.map;
  const valueType = field.resolvedType;
  const scalar = SCALARS.has(field.type) ? (field.type as ScalarType) : undefined;
  if (!scalar && !(valueType instanceof protobuf.Type)) {
    throw new Error(`protobuf schema: unsupported type ${field.type} of ${field.fullName}`);
  }
  if (isMap && (field as unknown as MapField).keyType !== 'string') {
    throw new Error(`protobuf schema: map keys must be strings (${field.fullName})`);
  }
  const message = valueType instanceof protobuf.Type ? messageInfo(valueType) : undefined;
  return {
    name: field.name,
    id: field.id,
    kind: isMap ? 'map' : message ? 'message' : 'scalar',
    repeated: field.repeated,
    ...(scalar ? { scalar } : {}),
    ...(message ? { message } : {}),
    wireType: isMap ? 2 : wireTypeOf(scalar),
    ptr: field.options?.['(ptr)'] === true,
    keep: field.options?.['(keep)'] === true,
    inline: field.options?.['(inline)'] === true,
  };
}

/** The message of a full name (`core.v1.Pod`); throws for names the schema does not define. */
export function lookupMessage(name: string): MessageInfo {
  return messageInfo(root.lookupType(name));
}

export interface KindEntry {
  readonly apiVersion: string;
  readonly kind: string;
  readonly message: MessageInfo;
}

const kinds = new Map<string, KindEntry>(
  KIND_MESSAGES.map(([apiVersion, kind, message]) => [
    `${apiVersion}\0${kind}`,
    { apiVersion, kind, message: lookupMessage(message) },
  ]),
);

export function lookupKind(apiVersion: string, kind: string): KindEntry | undefined {
  return kinds.get(`${apiVersion}\0${kind}`);
}

export function allKinds(): KindEntry[] {
  return [...kinds.values()];
}

export const UNKNOWN = lookupMessage('runtime.Unknown');
