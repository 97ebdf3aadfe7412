/**
 * Kubernetes `Status` errors (k8s.io/apimachinery/pkg/api/errors).
 *
 * Every failure the API answers is one of these: a reason, an HTTP code, a message and,
 * for validation errors, field causes. The server serialises `err.status` as the body.
 */
import type { Status, StatusCause, StatusDetails } from 'kubernetes-types/meta/v1.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unknown';

export type CauseType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid'
  | 'UnexpectedServerResponse'
  | 'FieldManagerConflict'
  | 'ResourceVersionTooLarge';

/** A validation failure of one field (k8s.io/apimachinery/pkg/util/validation/field.Error). */
export interface FieldError {
  type: CauseType;
  field: string;
  /** The offending value; omitted from the message when undefined. */
  value?: unknown;
  detail: string;
}

export interface GroupKind {
  group: string;
  kind: string;
}

export interface GroupResource {
  group: string;
  resource: string;
}

/** An error that the API returns as a `Status` body with the given HTTP code. */
export class StatusError extends Error {
  readonly status: Status & { code: number; reason: StatusReason };
  /** Extra response headers (for example `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    details?: StatusDetails,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'StatusError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    } as Status & { code: number; reason: StatusReason };
    this.headers = headers;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason;
  }
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

/** `pods` for the core group, `roles.rbac.authorization.k8s.io` otherwise. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function qualifiedKind(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

function details(gr: GroupResource, name: string, extra?: Partial<StatusDetails>): StatusDetails {
  const d: StatusDetails = { ...(name ? { name } : {}), ...(gr.group ? { group: gr.group } : {}), kind: gr.resource };
  return { ...d, ...extra };
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, details(gr, name));
}

/** The 404 for a path nothing is served at (no such resource, subresource or endpoint). */
export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

/**
 * go-restful's answer for a method a path has no route for (a create-only kind asked with GET):
 * `NewGenericServerResponse(405, …)`, with empty details.
 */
export function methodNotRouted(): StatusError {
  return new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, details(gr, name));
}

/** `Operation cannot be fulfilled on pods "p": <why>` */
export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    details(gr, name),
  );
}

/** The message of an optimistic-concurrency failure. */
export const OPTIMISTIC_LOCK_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

/**
 * `pods "p" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns"`;
 * with an empty name: `pods is forbidden: …`.
 */
export function forbidden(gr: GroupResource, name: string, reason: string): StatusError {
  const what = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${reason}`, details(gr, name));
}

export function methodNotAllowed(verb: string, gr: GroupResource): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualifiedResource(gr)}"`,
    details(gr, ''),
  );
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, 'NotAcceptable', message);
}

/** negotiation.NewUnsupportedMediaTypeError: the message does not name the type sent. */
export function unsupportedMediaType(): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}

export function requestEntityTooLarge(message = 'the request is too large'): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
}

/** 410 Gone with reason Expired: a watch or list from a compacted resourceVersion. */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function internalError(err: unknown): StatusError {
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function serviceUnavailable(message: string, retryAfterSeconds = 1): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message, { retryAfterSeconds }, {
    'Retry-After': String(retryAfterSeconds),
  });
}

export function timeout(message: string, retryAfterSeconds = 1): StatusError {
  return new StatusError(504, 'Timeout', message, { retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });
}

export function tooManyRequests(message: string, retryAfterSeconds = 1): StatusError {
  return new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds }, {
    'Retry-After': String(retryAfterSeconds),
  });
}

/** Renders a value as Go's `%v`-ish quoting used in field error messages. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const causeText: Record<CauseType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
  UnexpectedServerResponse: 'Unexpected server response',
  FieldManagerConflict: 'Conflict',
  ResourceVersionTooLarge: 'Too large resource version',
};

/** `spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes` */
export function fieldErrorMessage(e: FieldError): string {
  const head = `${e.field}: ${causeText[e.type]}`;
  const showValue =
    e.value !== undefined &&
    e.type !== 'FieldValueRequired' &&
    e.type !== 'FieldValueForbidden' &&
    e.type !== 'InternalError';
  const withValue = showValue ? `${head}: ${renderValue(e.value)}` : head;
  return e.detail ? `${withValue}: ${e.detail}` : withValue;
}

/**
 * 422 Invalid: `Pod "p" is invalid: [a, b]` (a single error stays bare), with one cause per field error.
 */
export function invalid(gk: GroupKind, name: string, errors: FieldError[]): StatusError {
  const messages = errors.map(fieldErrorMessage);
  const causes: StatusCause[] = errors.map((e) => ({
    reason: e.type,
    message: fieldErrorMessage(e).slice(e.field.length + 2),
    field: e.field,
  }));
  const joined = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${qualifiedKind(gk)} "${name}" is invalid: ${joined}`, {
    ...(name ? { name } : {}),
    ...(gk.group ? { group: gk.group } : {}),
    kind: gk.kind,
    causes,
  });
}

/** Helpers for building field errors, mirroring field.Invalid / field.Required / … */
export const field = {
  invalid: (path: string, value: unknown, detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field: path,
    value,
    detail,
  }),
  required: (path: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field: path, detail }),
  forbidden: (path: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field: path, detail }),
  notSupported: (path: string, value: unknown, valid: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field: path,
    value,
    detail: `supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}`,
  }),
  duplicate: (path: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field: path, value, detail: '' }),
  tooLong: (path: string, value: unknown, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field: path,
    value,
    detail: `must have at most ${max} bytes`,
  }),
  notFound: (path: string, value: unknown): FieldError => ({ type: 'FieldValueNotFound', field: path, value, detail: '' }),
};
