/**
 * The OpenAPI v3 documents Kubernetes serves at `/openapi/v3` (an index) and
 * `/openapi/v3/<api/v1 | apis/<group>/<version>>` (one document per group-version), built from
 * the served resources and the generated component schemas.
 *
 * kubectl depends on these: `kubectl explain` reads the schemas; `kubectl create/apply -f` asks
 * the server to validate fields (`fieldValidation=Strict`) only if the document has a PATCH
 * operation for the GVK with a `fieldValidation` query parameter (cli-runtime's
 * QueryParamVerifierV3); client-side `kubectl apply` computes its strategic merge patch from the
 * schemas' `x-kubernetes-patch-*` extensions when the PATCH operation accepts
 * `application/strategic-merge-patch+json`.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, referencedSchemaNames, schemaNameForGvk, schemas, SCHEMA_REF_PREFIX, type JsonSchema } from './registry.js';

/** A resource of one group-version, as the server serves it. */
export interface OpenApiResource {
  kind: string;
  /** Plural resource name, `pods`. */
  resource: string;
  namespaced: boolean;
  /** Kubernetes verbs: get, list, watch, create, update, patch, delete, deletecollection. */
  verbs: string[];
  /** Defaults to `<kind>List`. */
  listKind?: string;
  subresources?: OpenApiSubresource[];
}

export interface OpenApiSubresource {
  /** `status`, `token`, `binding`. */
  name: string;
  /** The kind the subresource takes and returns (`TokenRequest`); found in this group-version or the one group that has it. */
  kind: string;
  /** get, create, update, patch. */
  verbs: string[];
}

export interface GroupVersion {
  group: string;
  version: string;
}

/** The `/openapi/v3` index: one entry per group-version, each URL carrying its document's hash. */
export function openApiV3Index(groupVersions: { path: string; hash: string }[]): {
  paths: Record<string, { serverRelativeURL: string }>;
} {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { path, hash } of [...groupVersions].sort((a, b) => a.path.localeCompare(b.path))) {
    if (path.startsWith('/')) throw new TypeError(`group-version path must be relative: ${path}`);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

/** `api/v1` or `apis/<group>/<version>`: the index key and URL suffix of a group-version. */
export function openApiV3Path(gv: GroupVersion): string {
  return gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
}

/**
 * The hash Kubernetes puts in `?hash=` and the ETag: SHA-512 of the served bytes, upper-case hex.
 * Hash exactly the bytes you serve.
 */
export function openApiHash(body: string | Uint8Array): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

const documentCache = new Map<string, object>();

/**
 * The OpenAPI 3.0 document of one group-version: its paths and operations and every component
 * schema they reference. Documents are cached (they are pure functions of the arguments).
 */
export function openApiV3Document(gv: GroupVersion, resources: OpenApiResource[]): object {
  const key = JSON.stringify([gv, resources]);
  const cached = documentCache.get(key);
  if (cached) return cached;
  const doc = buildDocument(gv, resources);
  documentCache.set(key, doc);
  return doc;
}

function buildDocument(gv: GroupVersion, resources: OpenApiResource[]): object {
  const prefix = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
  const ctx: Ctx = { gv, tag: tagOf(gv), opPrefix: opPrefixOf(gv), used: new Set() };
  const paths: Record<string, Record<string, unknown>> = {};

  ctx.used.add(`${META}.APIResourceList`);
  paths[`${prefix}/`] = {
    get: {
      description: 'get available resources',
      operationId: `get${ctx.opPrefix}APIResources`,
      responses: { '200': response('OK', ref(`${META}.APIResourceList`), PLAIN) },
      tags: [ctx.tag],
    },
  };

  for (const r of resources) addResource(ctx, prefix, r, paths);

  const names = referencedSchemaNames(ctx.used);
  const componentSchemas: Record<string, unknown> = {};
  for (const name of [...names].sort()) componentSchemas[name] = wrapRefs(schemas[name]!);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: sortObject(paths),
    components: {
      schemas: componentSchemas,
      securitySchemes: {
        BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

interface Ctx {
  gv: GroupVersion;
  tag: string;
  /** `CoreV1`, `RbacAuthorizationV1`. */
  opPrefix: string;
  used: Set<string>;
}

function addResource(ctx: Ctx, prefix: string, r: OpenApiResource, paths: Record<string, Record<string, unknown>>): void {
  const gvk = { group: ctx.gv.group, version: ctx.gv.version, kind: r.kind };
  const kindSchema = schemaName(ctx, gvk, r.kind);
  ctx.used.add(kindSchema);
  const verbs = new Set(r.verbs);
  const ns = r.namespaced ? 'Namespaced' : '';
  const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
  const nsParams = r.namespaced ? [NAMESPACE] : [];
  const nameParam = pathParam('name', `name of the ${r.kind}`);
  const gvkExt = { group: ctx.gv.group, kind: r.kind, version: ctx.gv.version };
  const kindRef = ref(kindSchema);
  const op = (action: string, id: string, description: string, rest: Record<string, unknown>): Record<string, unknown> => ({
    description,
    operationId: `${id}${ctx.opPrefix}${rest.idSuffix ?? `${ns}${r.kind}`}`,
    ...omit(rest, 'idSuffix'),
    tags: [ctx.tag],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkExt,
  });

  const collection: Record<string, unknown> = {};
  let listSchema: string | undefined;
  if (verbs.has('list') || verbs.has('watch')) {
    const listKind = r.listKind ?? `${r.kind}List`;
    listSchema = schemaName(ctx, { ...gvk, kind: listKind }, listKind);
    ctx.used.add(listSchema);
  }
  if (verbs.has('list') && listSchema) {
    collection.get = op('list', 'list', `list or watch objects of kind ${r.kind}`, {
      parameters: LIST_PARAMS,
      responses: { '200': response('OK', ref(listSchema), STREAM) },
    });
  }
  if (verbs.has('create')) {
    collection.post = op('post', 'create', `create ${article(r.kind)}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
      requestBody: { content: { '*/*': { schema: kindRef } }, required: true },
      responses: {
        '200': response('OK', kindRef, PLAIN),
        '201': response('Created', kindRef, PLAIN),
        '202': response('Accepted', kindRef, PLAIN),
      },
    });
  }
  if (verbs.has('deletecollection')) {
    ctx.used.add(DELETE_OPTIONS).add(STATUS);
    collection.delete = op('deletecollection', 'delete', `delete collection of ${r.kind}`, {
      idSuffix: `Collection${ns}${r.kind}`,
      parameters: DELETE_COLLECTION_PARAMS,
      requestBody: { content: { '*/*': { schema: ref(DELETE_OPTIONS) } } },
      responses: { '200': response('OK', ref(STATUS), PLAIN) },
    });
  }
  if (Object.keys(collection).length > 0) paths[base] = { ...collection, parameters: [...nsParams, PRETTY] };

  const item: Record<string, unknown> = {};
  if (verbs.has('get')) {
    item.get = op('get', 'read', `read the specified ${r.kind}`, { responses: { '200': response('OK', kindRef, PLAIN) } });
  }
  if (verbs.has('update')) {
    item.put = op('put', 'replace', `replace the specified ${r.kind}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
      requestBody: { content: { '*/*': { schema: kindRef } }, required: true },
      responses: { '200': response('OK', kindRef, PLAIN), '201': response('Created', kindRef, PLAIN) },
    });
  }
  if (verbs.has('patch')) {
    ctx.used.add(PATCH);
    item.patch = op('patch', 'patch', `partially update the specified ${r.kind}`, patchOperation(kindRef));
  }
  if (verbs.has('delete')) {
    ctx.used.add(DELETE_OPTIONS).add(STATUS);
    const deleted = r.kind === 'Pod' ? kindRef : ref(STATUS);
    item.delete = op('delete', 'delete', `delete ${article(r.kind)}`, {
      parameters: [DRY_RUN, GRACE_PERIOD, IGNORE_STORE_READ_ERROR, ORPHAN, PROPAGATION],
      requestBody: { content: { '*/*': { schema: ref(DELETE_OPTIONS) } } },
      responses: { '200': response('OK', deleted, PLAIN), '202': response('Accepted', deleted, PLAIN) },
    });
  }
  if (Object.keys(item).length > 0) paths[`${base}/{name}`] = { ...item, parameters: [nameParam, ...nsParams, PRETTY] };

  if (verbs.has('watch') && listSchema) {
    ctx.used.add(WATCH_EVENT);
    const watchBase = r.namespaced ? `${prefix}/watch/namespaces/{namespace}/${r.resource}` : `${prefix}/watch/${r.resource}`;
    paths[watchBase] = {
      get: op('watchlist', 'watch', `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, {
        idSuffix: `${ns}${r.kind}List`,
        responses: { '200': response('OK', ref(WATCH_EVENT), STREAM) },
      }),
      parameters: [...WATCH_PATH_PARAMS, ...nsParams, PRETTY].sort(byName),
    };
    paths[`${watchBase}/{name}`] = {
      get: op('watch', 'watch', `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`, {
        responses: { '200': response('OK', ref(WATCH_EVENT), STREAM) },
      }),
      parameters: [...WATCH_PATH_PARAMS, nameParam, ...nsParams, PRETTY].sort(byName),
    };
  }
  if (r.namespaced && (verbs.has('list') || verbs.has('watch')) && listSchema) {
    paths[`${prefix}/${r.resource}`] = {
      get: op('list', 'list', `list or watch objects of kind ${r.kind}`, {
        idSuffix: `${r.kind}ForAllNamespaces`,
        responses: { '200': response('OK', ref(listSchema), STREAM) },
      }),
      parameters: [...WATCH_PATH_PARAMS, PRETTY].sort(byName),
    };
  }

  for (const sub of r.subresources ?? []) {
    const subGvk = subresourceGvk(ctx.gv, sub.kind);
    const subSchema = schemaName(ctx, subGvk, sub.kind);
    ctx.used.add(subSchema);
    const subRef = ref(subSchema);
    const suffix = `${ns}${r.kind}${capitalize(sub.name)}`;
    const subOp = (action: string, id: string, description: string, rest: Record<string, unknown>): Record<string, unknown> => ({
      description,
      operationId: `${id}${ctx.opPrefix}${suffix}`,
      ...rest,
      tags: [ctx.tag],
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': { group: subGvk.group, kind: subGvk.kind, version: subGvk.version },
    });
    const ops: Record<string, unknown> = {};
    const subVerbs = new Set(sub.verbs);
    if (subVerbs.has('get')) {
      ops.get = subOp('get', 'read', `read ${sub.name} of the specified ${r.kind}`, { responses: { '200': response('OK', subRef, PLAIN) } });
    }
    if (subVerbs.has('create')) {
      ops.post = subOp('post', 'create', `create ${sub.name} of ${article(r.kind)}`, {
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: { content: { '*/*': { schema: subRef } }, required: true },
        responses: {
          '200': response('OK', subRef, PLAIN),
          '201': response('Created', subRef, PLAIN),
          '202': response('Accepted', subRef, PLAIN),
        },
      });
    }
    if (subVerbs.has('update')) {
      ops.put = subOp('put', 'replace', `replace ${sub.name} of the specified ${r.kind}`, {
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: { content: { '*/*': { schema: subRef } }, required: true },
        responses: { '200': response('OK', subRef, PLAIN), '201': response('Created', subRef, PLAIN) },
      });
    }
    if (subVerbs.has('patch')) {
      ctx.used.add(PATCH);
      ops.patch = subOp('patch', 'patch', `partially update ${sub.name} of the specified ${r.kind}`, patchOperation(subRef));
    }
    if (Object.keys(ops).length > 0) {
      paths[`${base}/{name}/${sub.name}`] = { ...ops, parameters: [pathParam('name', `name of the ${sub.kind}`), ...nsParams, PRETTY] };
    }
  }
}

function patchOperation(target: object): Record<string, unknown> {
  const body = { schema: ref(PATCH) };
  return {
    parameters: [DRY_RUN, FIELD_MANAGER_PATCH, FIELD_VALIDATION, FORCE],
    requestBody: {
      content: {
        'application/apply-patch+yaml': body,
        'application/json-patch+json': body,
        'application/merge-patch+json': body,
        'application/strategic-merge-patch+json': body,
      },
      required: true,
    },
    responses: { '200': response('OK', target, PLAIN), '201': response('Created', target, PLAIN) },
  };
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const PATCH = `${META}.Patch`;
const WATCH_EVENT = `${META}.WatchEvent`;

const PLAIN = ['application/json', 'application/vnd.kubernetes.protobuf', 'application/yaml'];
const STREAM = [
  'application/json',
  'application/json;stream=watch',
  'application/vnd.kubernetes.protobuf',
  'application/vnd.kubernetes.protobuf;stream=watch',
  'application/yaml',
];

function response(description: string, schema: object, types: string[]): object {
  const content: Record<string, unknown> = {};
  for (const t of types) content[t] = { schema };
  return { content, description };
}

function ref(name: string): { $ref: string } {
  return { $ref: `${SCHEMA_REF_PREFIX}${name}` };
}

type Param = { description?: string; in: 'query' | 'path'; name: string; required?: boolean; schema: object };

function query(name: string, type: 'string' | 'boolean' | 'integer', description: string): Param {
  return { description, in: 'query', name, schema: { type, uniqueItems: true } };
}

function pathParam(name: string, description: string): Param {
  return { description, in: 'path', name, required: true, schema: { type: 'string', uniqueItems: true } };
}

function byName(a: Param, b: Param): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const NAMESPACE = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
const PRETTY = query(
  'pretty',
  'string',
  "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
);
const DRY_RUN = query(
  'dryRun',
  'string',
  'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
);
const FIELD_MANAGER_TEXT =
  'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.';
const FIELD_MANAGER = query('fieldManager', 'string', FIELD_MANAGER_TEXT);
const FIELD_MANAGER_PATCH = query(
  'fieldManager',
  'string',
  `${FIELD_MANAGER_TEXT} This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).`,
);
const FIELD_VALIDATION = query(
  'fieldValidation',
  'string',
  'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
);
const FORCE = query(
  'force',
  'boolean',
  'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
);
const GRACE_PERIOD = query(
  'gracePeriodSeconds',
  'integer',
  'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.',
);
const IGNORE_STORE_READ_ERROR = query(
  'ignoreStoreReadErrorWithClusterBreakingPotential',
  'boolean',
  "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. A resource is considered corrupt if it can not be retrieved from the underlying storage successfully because of a) its data can not be transformed e.g. decryption failure, or b) it fails to decode into an object. NOTE: unsafe deletion ignores finalizer constraints, skips precondition checks, and removes the object from the storage. WARNING: This may potentially break the cluster if the workload associated with the resource being unsafe-deleted relies on normal deletion flow. Use only if you REALLY know what you are doing. The default value is false, and the user must opt in to enable it",
);
const ORPHAN = query(
  'orphanDependents',
  'boolean',
  'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.',
);
const PROPAGATION = query(
  'propagationPolicy',
  'string',
  "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
);
const ALLOW_BOOKMARKS = query(
  'allowWatchBookmarks',
  'boolean',
  'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.',
);
const CONTINUE = query(
  'continue',
  'string',
  'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize. If the specified continue value is no longer valid whether due to expiration (generally five to fifteen minutes) or a configuration change on the server, the server will respond with a 410 ResourceExpired error together with a continue token.',
);
const FIELD_SELECTOR = query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.');
const LABEL_SELECTOR = query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.');
const LIMIT = query(
  'limit',
  'integer',
  'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results. Setting a limit may return fewer than the requested amount of items (up to zero items) in the event all requested objects are filtered out and clients should only use the presence of the continue field to determine whether more results are available. Servers may choose not to support the limit argument and will return all of the available results. If limit is specified and the continue field is empty, clients may assume that no more results are available. This field is not supported if watch is true.',
);
const RESOURCE_VERSION = query(
  'resourceVersion',
  'string',
  'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
);
const RESOURCE_VERSION_MATCH = query(
  'resourceVersionMatch',
  'string',
  'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
);
const SEND_INITIAL_EVENTS = query(
  'sendInitialEvents',
  'boolean',
  '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic "Bookmark" event  will be sent. The bookmark will report the ResourceVersion (RV) corresponding to the set of objects, and be marked with `"k8s.io/initial-events-end": "true"` annotation. Afterwards, the watch stream will proceed as usual, sending watch events corresponding to changes (subsequent to the RV) to objects watched.',
);
const TIMEOUT = query(
  'timeoutSeconds',
  'integer',
  'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.',
);
const WATCH = query(
  'watch',
  'boolean',
  'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.',
);

const LIST_PARAMS = [ALLOW_BOOKMARKS, CONTINUE, FIELD_SELECTOR, LABEL_SELECTOR, LIMIT, RESOURCE_VERSION, RESOURCE_VERSION_MATCH, SEND_INITIAL_EVENTS, TIMEOUT, WATCH];
const WATCH_PATH_PARAMS = LIST_PARAMS;
const DELETE_COLLECTION_PARAMS = [
  CONTINUE,
  DRY_RUN,
  FIELD_SELECTOR,
  GRACE_PERIOD,
  IGNORE_STORE_READ_ERROR,
  LABEL_SELECTOR,
  LIMIT,
  ORPHAN,
  PROPAGATION,
  RESOURCE_VERSION,
  RESOURCE_VERSION_MATCH,
  SEND_INITIAL_EVENTS,
  TIMEOUT,
];

function schemaName(ctx: Ctx, gvk: { group: string; version: string; kind: string }, what: string): string {
  const name = schemaNameForGvk(gvk);
  if (!name) throw new TypeError(`no schema for ${apiVersionOf(gvk)} ${what} (${ctx.tag})`);
  return name;
}

/** The GVK of a subresource's kind: in the same group-version, else the only group-version that has it. */
function subresourceGvk(gv: GroupVersion, kind: string): { group: string; version: string; kind: string } {
  if (schemaNameForGvk({ ...gv, kind })) return { ...gv, kind };
  const matches: { group: string; version: string; kind: string }[] = [];
  for (const schema of Object.values(schemas)) {
    for (const g of (schema['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? []) {
      if (g.kind === kind) matches.push(g);
    }
  }
  if (matches.length !== 1) throw new TypeError(`subresource kind ${kind} is ambiguous or unknown`);
  return matches[0]!;
}

/** `core_v1`, `rbacAuthorization_v1`. */
function tagOf(gv: GroupVersion): string {
  if (!gv.group) return `core_${gv.version}`;
  const words = gv.group.replace(/\.k8s\.io$/, '').split('.');
  return `${words[0]}${words.slice(1).map(capitalize).join('')}_${gv.version}`;
}

/** `CoreV1`, `RbacAuthorizationV1`, `AuthenticationV1beta1`. */
function opPrefixOf(gv: GroupVersion): string {
  const words = gv.group ? gv.group.replace(/\.k8s\.io$/, '').split('.') : ['core'];
  return words.map(capitalize).join('') + capitalize(gv.version);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

function omit(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _omitted, ...rest } = obj;
  return rest;
}

function sortObject<T>(obj: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k]!;
  return out;
}

/**
 * OpenAPI 3.0 ignores the siblings of a `$ref`; Kubernetes wraps a reference that carries a
 * description or default in a one-element `allOf`, and kubectl reads that form.
 */
function wrapRefs(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) out[k] = wrapValue(k, v);
  return out;
}

function wrapValue(key: string, v: unknown): unknown {
  if (!v || typeof v !== 'object' || key.startsWith('x-kubernetes')) return v;
  if (Array.isArray(v)) return v.map((e) => wrapValue('', e));
  const obj = v as JsonSchema;
  if (key === 'properties') {
    const props: JsonSchema = {};
    for (const [name, prop] of Object.entries(obj)) props[name] = wrapProperty(prop as JsonSchema);
    return props;
  }
  return wrapProperty(obj);
}

function wrapProperty(prop: JsonSchema): JsonSchema {
  const wrapped = wrapRefs(prop);
  if (typeof wrapped.$ref !== 'string' || Object.keys(wrapped).length === 1) return wrapped;
  const { $ref, ...rest } = wrapped;
  return sortObject({ allOf: [{ $ref }], ...rest });
}
