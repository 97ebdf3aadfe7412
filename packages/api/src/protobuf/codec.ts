/**
 * The Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`): the 4-byte magic
 * `k8s\0` followed by a `runtime.Unknown` whose TypeMeta names the kind and whose `raw` holds the
 * object's own message. Decoding yields the JSON form of the object, so the rest of the server only
 * ever sees JSON.
 */
import type { KubeObject } from '../objects.js';
import { badRequest, StatusError } from '../status.js';
import { ProtobufError } from './errors.js';
import { messageFromJson, messageToJson } from './json.js';
import { allKinds, lookupKind, UNKNOWN } from './registry.js';
import type { MessageInfo } from './registry.js';
import { checkWire } from './wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Message = Record<string, unknown>;

/** Checks the bytes, then lets protobufjs decode them. Throws ProtobufError. */
function decodeMessage(info: MessageInfo, bytes: Uint8Array): Message {
  checkWire(info, bytes);
  return info.type.decode(bytes) as unknown as Message;
}

/**
 * Decodes a `k8s\0` envelope into the JSON form of the object: exactly what the JSON body of the same
 * request would be (see docs/protobuf.md for the mapping rules).
 *
 * Throws a `StatusError`: 400 BadRequest for bytes that are not a valid encoding, 415
 * UnsupportedMediaType for a kind (or a field of a partly modelled kind) this codec does not decode.
 */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (!(body instanceof Uint8Array)) throw new TypeError('decodeProtobufObject: body must be a Buffer or Uint8Array');
  if (body.length < MAGIC.length || !MAGIC.equals(body.subarray(0, MAGIC.length))) {
    throw badRequest(
      'the object provided is unrecognized: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  }
  let envelope: Message;
  try {
    envelope = decodeMessage(UNKNOWN, body.subarray(MAGIC.length));
  } catch (err) {
    throw badRequest(`the object provided is unrecognized: ${reason(err)}`);
  }
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  if (!kind) throw badRequest(`Object 'Kind' is missing in '${describe(apiVersion, kind)}'`);
  if (!apiVersion) throw badRequest(`Object 'apiVersion' is missing in '${describe(apiVersion, kind)}'`);
  const entry = lookupKind(apiVersion, kind);
  if (!entry) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the protobuf body of kind "${kind}" in version "${apiVersion}" cannot be decoded by this server; send it as application/json`,
    );
  }
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  const raw = (envelope.raw as Uint8Array | undefined) ?? new Uint8Array();
  try {
    const json = messageToJson(entry.message, decodeMessage(entry.message, raw));
    return { kind, apiVersion, ...json };
  } catch (err) {
    const message = `${kind} in version "${version}" cannot be handled as a ${kind}: ${reason(err)}`;
    if (err instanceof ProtobufError && err.code === 'ERR_PROTOBUF_UNSUPPORTED_FIELD') {
      throw new StatusError(415, 'UnsupportedMediaType', message);
    }
    throw badRequest(message);
  }
}

/**
 * Encodes an object (with `apiVersion` and `kind`) as Go's client-go does: non-pointer fields always
 * written, pointer fields only when set, fields in number order, map keys sorted. For the kinds
 * `protobufKinds()` lists. Throws TypeError for an unknown kind, an unknown field or a value of the
 * wrong type.
 */
export function encodeProtobufObject(obj: KubeObject): Buffer {
  if (typeof obj !== 'object' || obj === null) throw new TypeError('encodeProtobufObject: obj must be an object');
  const { apiVersion, kind, ...rest } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new TypeError('encodeProtobufObject: obj.apiVersion and obj.kind must be strings');
  }
  const entry = lookupKind(apiVersion, kind);
  if (!entry) throw new TypeError(`encodeProtobufObject: no protobuf message for ${describe(apiVersion, kind)}`);
  const message = messageFromJson(entry.message, rest, '');
  const raw = entry.message.type.encode(message).finish();
  const envelope = UNKNOWN.type
    .encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })
    .finish();
  return Buffer.concat([MAGIC, envelope]);
}

/** The kinds this codec decodes and encodes, as `apiVersion, Kind=Kind` (e.g. `v1, Kind=Pod`). */
export function protobufKinds(): string[] {
  return allKinds().map((k) => describe(k.apiVersion, k.kind));
}

function describe(apiVersion: string, kind: string): string {
  return `${apiVersion}, Kind=${kind}`;
}

function reason(err: unknown): string {
  if (err instanceof ProtobufError) return err.message;
  // protobufjs' own errors (it should not raise any once checkWire passed): keep the text, never crash.
  if (err instanceof Error) return err.message;
  return String(err);
}
