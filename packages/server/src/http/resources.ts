/**
 * Resource requests (`/api/v1/…`, `/apis/<group>/<version>/…`) for the stored resources: get,
 * list, watch, create, update, patch, delete, deletecollection, and the status / finalize
 * subresources. Decoding and option parsing happen here; semantics live in the registry.
 */
import { badRequest, field, invalid, methodNotAllowed, notFound, pathNotFound, serviceUnavailable, StatusError, type KubeObject } from '@boundtoken/api';
import { applyServerSide, patchObject } from '@boundtoken/api/patch';
import type { UserInfo } from '../auth/types.js';
import type { Freshness } from '../cache/consistent-read.js';
import type { DeleteOptions, Registry } from '../registry/registry.js';
import { parseFieldSelector, parseLabelSelector } from '../registry/selectors.js';
import type { OperationContext, ResourceDef } from '../registry/types.js';
import { checkDecoded, decodeObject, fieldValidationOf, mediaType, parseBody } from './body.js';
import type { ApiReply, ApiRequest } from './exchange.js';
import { parseAccept, tableContentType, wantsTable } from './negotiation.js';
import type { RequestInfo } from './request-info.js';
import { sendJson, toTable, type IncludeObject } from './respond.js';
import { objectBytes, objectJson } from './serialize.js';
import { serveWatch } from './watch.js';

export type Query = Record<string, string | undefined>;

export interface ResourceRequest {
  req: ApiRequest;
  reply: ApiReply;
  info: RequestInfo;
  user: UserInfo;
  query: Query;
  now: Date;
  warnings: string[];
  /** How fresh the caches are for this request (Registry.sync); undefined: fresh. */
  freshness?: Freshness;
}

/** The 503 for a request that needs the store (a write, a consistent read) while it does not answer. */
export function storageUnavailable(): StatusError {
  return serviceUnavailable('the storage is unavailable: it did not answer the consistent-read check', 2);
}

function intParam(query: Query, name: string): number | undefined {
  const v = query[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${v}`);
  return n;
}

/** The default field manager: the user agent's product name (`kubectl`, `node-fetch`, …). */
function defaultFieldManager(req: ApiRequest): string {
  const ua = req.headers['user-agent'] ?? '';
  const product = ua.split('/')[0]!.trim();
  return product.slice(0, 128) || 'unknown';
}

const OPTIONS_KIND: Record<string, string> = { create: 'CreateOptions', update: 'UpdateOptions', patch: 'PatchOptions' };

/**
 * The write options in the query (fieldManager, dryRun, fieldValidation), checked as Kubernetes'
 * ValidateCreateOptions / UpdateOptions / PatchOptions / DeleteOptions do: a 422 naming the kind.
 */
export function operationContext(rr: ResourceRequest, subresource: string): OperationContext {
  const { fieldManager: fm, dryRun, fieldValidation } = rr.query;
  const errs = [];
  if (fm !== undefined) {
    if (fm.length > 128) errs.push(field.tooLong('fieldManager', fm, 128));
    const bad = [...fm].findIndex((c) => !/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c));
    if (bad >= 0) {
      const cp = [...fm][bad]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      errs.push(field.invalid('fieldManager', fm, `invalid character U+${cp} (at position ${bad})`));
    }
  }
  if (dryRun !== undefined && dryRun !== '' && dryRun !== 'All') errs.push(field.notSupported('dryRun', [dryRun], ['All']));
  const optionsKind = OPTIONS_KIND[rr.info.verb] ?? 'DeleteOptions';
  if (optionsKind !== 'DeleteOptions' && fieldValidation !== undefined && !['', 'Ignore', 'Strict', 'Warn'].includes(fieldValidation)) {
    errs.push(field.notSupported('fieldValidation', fieldValidation, ['', 'Ignore', 'Strict', 'Warn']));
  }
  if (errs.length > 0) throw invalid({ group: 'meta.k8s.io', kind: optionsKind }, '', errs);
  return {
    user: rr.user,
    now: rr.now,
    dryRun: dryRun === 'All',
    fieldManager: fm || defaultFieldManager(rr.req),
    fieldValidation: fieldValidationOf(fieldValidation),
    warnings: rr.warnings,
    subresource,
  };
}

function includeObjectOf(query: Query): IncludeObject {
  const v = query.includeObject;
  if (v === undefined || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
}

/** The request body as bytes (empty when there is none). */
export function rawBody(req: ApiRequest): Buffer {
  const b = req.body;
  if (Buffer.isBuffer(b)) return b;
  if (b === undefined || b === null) return Buffer.alloc(0);
  return Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
}

function expectedKind(def: ResourceDef): { group: string; version: string; kind: string } {
  return { group: def.group, version: def.version, kind: def.kind };
}

/** Answers one object, as a Table when the client prefers one. */
function sendObject(rr: ResourceRequest, def: ResourceDef, code: number, obj: KubeObject): ApiReply {
  const table = wantsTable(parseAccept(rr.req.headers.accept));
  if (table && rr.req.method === 'GET') {
    const body = toTable(def, [obj], rr.now, {
      version: table,
      include: includeObjectOf(rr.query),
      headers: true,
      ...(obj.metadata?.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
    });
    return sendJson(rr.reply, code, body, rr.warnings, tableContentType(table));
  }
  return sendJson(rr.reply, code, objectBytes(obj), rr.warnings);
}

function selectors(query: Query): { labelSelector?: ReturnType<typeof parseLabelSelector>; fieldSelector?: ReturnType<typeof parseFieldSelector> } {
  return {
    ...(query.labelSelector ? { labelSelector: parseLabelSelector(query.labelSelector) } : {}),
    ...(query.fieldSelector ? { fieldSelector: parseFieldSelector(query.fieldSelector) } : {}),
  };
}

function parseDeleteOptions(rr: ResourceRequest): DeleteOptions {
  const opts: DeleteOptions = {};
  const raw = rawBody(rr.req);
  if (raw.length > 0) {
    const { value } = parseBody(rr.req.headers['content-type'], raw);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as { gracePeriodSeconds?: number | null; preconditions?: { uid?: string; resourceVersion?: string } | null; propagationPolicy?: string | null; dryRun?: string[] | null; kind?: string };
      if (v.kind && v.kind !== 'DeleteOptions') throw badRequest(`the kind in the data (${v.kind}) does not match the expected kind (DeleteOptions)`);
      if (typeof v.gracePeriodSeconds === 'number') opts.gracePeriodSeconds = v.gracePeriodSeconds;
      if (v.preconditions) opts.preconditions = v.preconditions;
      if (v.propagationPolicy) opts.propagationPolicy = v.propagationPolicy;
      if (Array.isArray(v.dryRun) && v.dryRun.includes('All')) rr.query.dryRun = 'All';
    } else {
      throw badRequest('the body of a delete request must be a DeleteOptions object');
    }
  }
  const grace = intParam(rr.query, 'gracePeriodSeconds');
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  if (rr.query.propagationPolicy) opts.propagationPolicy = rr.query.propagationPolicy;
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw new StatusError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`);
  }
  return opts;
}

function deletedStatus(def: ResourceDef, obj: KubeObject): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: obj.metadata?.name, ...(def.group ? { group: def.group } : {}), kind: def.resource, uid: obj.metadata?.uid },
  };
}

const PATCH_OPTIONS = { group: 'meta.k8s.io', kind: 'PatchOptions' };

const patchTypes: Record<string, 'json' | 'merge' | 'strategic' | 'apply'> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

async function patch(rr: ResourceRequest, registry: Registry, def: ResourceDef, subresource: string): Promise<ApiReply> {
  const ct = mediaType(rr.req.headers['content-type']);
  const type = patchTypes[ct];
  if (!type) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  const ctx = operationContext(rr, subresource);
  const force = rr.query.force;
  // PatchOptions are validated before the body is read (ValidatePatchOptions)
  if (force !== undefined && type !== 'apply') {
    throw invalid(PATCH_OPTIONS, '', [field.forbidden('force', 'may not be specified for non-apply patch')]);
  }
  if (type === 'apply' && !rr.query.fieldManager) {
    throw invalid(PATCH_OPTIONS, '', [field.required('fieldManager', 'is required for apply patch')]);
  }
  const { value: body, duplicates } = parseBody(type === 'apply' ? 'application/apply-patch+yaml' : 'application/json', rawBody(rr.req));
  const ns = rr.info.namespace;
  const name = rr.info.name;
  const gvk = expectedKind(def);
  const validate = (patched: KubeObject): KubeObject => checkDecoded(patched, [], gvk, ctx.fieldValidation, ctx.warnings);

  if (type === 'apply') {
    const config = validate(structuredClone(body) as KubeObject);
    if (config.metadata?.name && config.metadata.name !== name) {
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    }
    ctx.managedFieldsDone = true;
    const forced = force === 'true' || force === '1';
    const result = await registry.guaranteedUpdate(
      def,
      ctx,
      ns,
      name,
      (current) => applyServerSide(current, config, { manager: ctx.fieldManager, force: forced, gvk, now: ctx.now }),
      {
        createIfMissing: async () => {
          if (subresource) throw notFound({ group: def.group, resource: def.resource }, name);
          const created = applyServerSide(undefined, config, { manager: ctx.fieldManager, force: forced, gvk, now: ctx.now });
          return registry.create(def, ctx, ns, created);
        },
      },
    );
    return sendObject(rr, def, result.created ? 201 : 200, result.object);
  }

  const result = await registry.guaranteedUpdate(def, ctx, ns, name, (current) => {
    const patched = patchObject(current, body, { type, gvk, fieldValidation: ctx.fieldValidation, duplicateFields: duplicates });
    ctx.warnings.push(...patched.warnings);
    return patched.object;
  });
  return sendObject(rr, def, 200, result.object);
}

/** Handles a request for a stored resource; `def` is the resource the path names. */
export async function handleResource(rr: ResourceRequest, registry: Registry, def: ResourceDef): Promise<ApiReply> {
  const { info } = rr;
  const gr = { group: def.group, resource: def.resource };
  const ns = def.namespaced ? info.namespace : '';
  if (def.namespaced && info.name && !ns && info.verb !== 'list' && info.verb !== 'watch') {
    throw notFound(gr, info.name);
  }
  const sub = info.subresource;
  if (sub && !(sub === 'status' && def.hasStatus) && !(sub === 'finalize' && def.resource === 'namespaces')) {
    throw pathNotFound();
  }
  if (sub === 'finalize' && info.verb !== 'update') throw methodNotAllowed(info.verb, gr);
  if (sub === 'status' && !['get', 'update', 'patch'].includes(info.verb)) throw methodNotAllowed(info.verb, gr);
  // a read without resourceVersion is a consistent read (the state when the request arrived);
  // resourceVersion=0 (any) and watches are served from the cache whatever its freshness
  const consistent = !rr.query.resourceVersion;
  if (rr.freshness === 'unavailable' && info.verb !== 'watch' && (consistent || (info.verb !== 'get' && info.verb !== 'list'))) {
    throw storageUnavailable();
  }
  const readThrough = consistent && rr.freshness === 'stale';

  switch (info.verb) {
    case 'get': {
      const cached = readThrough ? undefined : registry.get(def, ns, info.name);
      const obj = cached ?? (await registry.getFresh(def, ns, info.name));
      if (!obj) throw notFound(gr, info.name);
      return sendObject(rr, def, 200, obj);
    }
    case 'list': {
      const result = await registry.list(def, ns, {
        ...selectors(rr.query),
        ...(rr.query.limit ? { limit: intParam(rr.query, 'limit')! } : {}),
        ...(rr.query.continue ? { continueToken: rr.query.continue } : {}),
        ...(readThrough ? { fromStore: true } : {}),
      });
      const table = wantsTable(parseAccept(rr.req.headers.accept));
      if (table) {
        const body = toTable(def, result.items, rr.now, {
          version: table,
          include: includeObjectOf(rr.query),
          headers: true,
          resourceVersion: result.resourceVersion,
          ...(result.continueToken ? { continueToken: result.continueToken } : {}),
          ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
        });
        return sendJson(rr.reply, 200, body, rr.warnings, tableContentType(table));
      }
      const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
      const head = JSON.stringify({
        kind: def.listKind,
        apiVersion,
        metadata: {
          resourceVersion: result.resourceVersion,
          ...(result.continueToken ? { continue: result.continueToken } : {}),
          ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
        },
      });
      // splice the items in without re-serialising the envelope
      const body = `${head.slice(0, -1)},"items":[${result.items.map((o) => objectJson(o)).join(',')}]}`;
      return sendJson(rr.reply, 200, body, rr.warnings);
    }
    case 'watch': {
      const sel = selectors(rr.query);
      if (info.name) {
        // a watch of one object (the deprecated /watch/…/{name} path, or a metadata.name selector)
        const named = sel.fieldSelector?.find((r) => r.key === 'metadata.name' && r.operator === '=');
        if (sel.fieldSelector?.length && named?.values[0] !== info.name) throw badRequest("fieldSelector metadata.name doesn't match requested name");
        if (!named) sel.fieldSelector = [{ key: 'metadata.name', operator: '=', values: [info.name] }];
      }
      return serveWatch(rr, registry, def, ns, sel, includeObjectOf(rr.query));
    }
    case 'create': {
      const ctx = operationContext(rr, '');
      const obj = decodeObject(rr.req.headers['content-type'], rawBody(rr.req), expectedKind(def), ctx.fieldValidation, ctx.warnings);
      const created = await registry.create(def, ctx, ns, obj);
      return sendJson(rr.reply, 201, created, rr.warnings);
    }
    case 'update': {
      const ctx = operationContext(rr, sub);
      const obj = decodeObject(rr.req.headers['content-type'], rawBody(rr.req), expectedKind(def), ctx.fieldValidation, ctx.warnings);
      // checkName: the body must name the object; an empty name does not match either
      if (!obj.metadata?.name) throw badRequest(`the name of the object () does not match the name on the URL (${info.name})`);
      const { object, created } = await registry.update(def, ctx, ns, info.name, obj);
      return sendJson(rr.reply, created ? 201 : 200, object, rr.warnings);
    }
    case 'patch':
      return patch(rr, registry, def, sub);
    case 'delete': {
      const opts = parseDeleteOptions(rr);
      const ctx = operationContext(rr, '');
      const { object, deleted } = await registry.delete(def, ctx, ns, info.name, opts);
      const returnsObject = def.resource === 'pods' || def.resource === 'namespaces' || !deleted;
      // 200 also when the object is only marked (graceful or held by finalizers): Kubernetes
      // answers 202 only for the deprecated orphanDependents=false
      return sendJson(rr.reply, 200, returnsObject ? object : deletedStatus(def, object), rr.warnings);
    }
    case 'deletecollection': {
      const opts = parseDeleteOptions(rr);
      const ctx = operationContext(rr, '');
      const { items } = await registry.list(def, ns, selectors(rr.query));
      const out: KubeObject[] = [];
      for (const item of items) {
        try {
          out.push((await registry.delete(def, ctx, item.metadata?.namespace ?? '', item.metadata!.name!, opts)).object);
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
      const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
      return sendJson(rr.reply, 200, { kind: def.listKind, apiVersion, metadata: {}, items: out }, rr.warnings);
    }
    default:
      throw methodNotAllowed(info.verb, gr);
  }
}
