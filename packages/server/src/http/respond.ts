/** Writing responses: JSON bodies, `Warning` headers, `Status` errors, Tables. */
import { badRequest, internalError, isStatusError, requestEntityTooLarge, unsupportedMediaType, type KubeObject, type StatusError } from '@boundtoken/api';
import type { ResourceDef } from '../registry/types.js';
import type { ApiReply } from './exchange.js';

export function warningHeader(message: string): string {
  return `299 - ${JSON.stringify(message)}`;
}

/** Answers `body`: bytes or a JSON text as they are, anything else as its JSON. */
export function sendJson(reply: ApiReply, code: number, body: unknown, warnings: string[] = [], contentType = 'application/json'): ApiReply {
  if (warnings.length > 0) reply.header('Warning', [...new Set(warnings)].map(warningHeader));
  // a Buffer, so Fastify sends the Content-Type as given (it appends `; charset=utf-8` to strings)
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return reply.code(code).header('Content-Type', contentType).send(bytes);
}

/** Any thrown value as the `Status` error the client gets. */
export function asStatusError(err: unknown): StatusError {
  if (isStatusError(err)) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return requestEntityTooLarge('limit is 3145728');
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return unsupportedMediaType();
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e?.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return badRequest(e.message ?? 'bad request body');
  }
  return internalError(err);
}

export function sendStatusError(reply: ApiReply, err: StatusError, warnings: string[] = []): ApiReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return sendJson(reply, err.code, err.status, warnings);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: KubeObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** A `meta.k8s.io` Table of objects of one resource (server-side printing for `kubectl get`). */
export function toTable(
  def: ResourceDef,
  objects: KubeObject[],
  now: Date,
  opts: { version: string; include: IncludeObject; headers: boolean; resourceVersion?: string; continueToken?: string; remainingItemCount?: number },
): object {
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continueToken) metadata.continue = opts.continueToken;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    columnDefinitions: opts.headers ? def.table.columns : [],
    rows: objects.map((o) => {
      const object = rowObject(o, opts.include);
      return { cells: def.table.cells(o, now), ...(object ? { object } : {}) };
    }),
  };
}
