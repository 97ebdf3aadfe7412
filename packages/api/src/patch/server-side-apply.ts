/**
 * Server-side apply (`application/apply-patch+yaml`) and the managedFields bookkeeping of every
 * other write, as Kubernetes' field manager does them (k8s.io/apimachinery/pkg/util/managedfields
 * on top of structured-merge-diff):
 *
 * - applyServerSide merges the applier's configuration into the live object (by the schema's
 *   list types and map keys), records the fields the configuration sets as the applier's,
 *   removes fields the applier set before and no longer sets unless someone else owns them, and
 *   answers 409 Conflict when the apply changes a field another manager owns (unless `force`);
 * - trackUpdate records the fields a create/update/patch changed under its manager (operation
 *   Update) and takes them away from other managers, which is what makes apply conflicts real.
 *
 * Both keep the Kubernetes special cases kubectl relies on: the "before-first-apply" owner of an
 * object's untracked fields, and for the manager `kubectl`, conflicts with fields in the
 * client-side `last-applied-configuration` annotation are forced and the annotation is updated.
 */
import type { KubeObject } from '../objects.js';
import { decodeObject } from '../schema/check.js';
import { compileKind, type StructNode } from '../schema/compile.js';
import { apiVersionOf, type GroupVersionKind } from '../schema/registry.js';
import { formatTime } from '../schema/time.js';
import { badRequest, internalError, StatusError } from '../status.js';
import { guardDepth } from './errors.js';
import { fieldElement, FieldSet, formatPath } from './fieldpath.js';
import { decodeManagedFields, describeManager, encodeManagedFields, managerId, type Managed, type ManagerEntry } from './managed-fields.js';
import { compareValues, convertConfig, dropNulls, mergeValues, removeFields, toFieldSet } from './typed.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
const BEFORE_FIRST_APPLY = 'before-first-apply';

export interface ApplyOptions {
  /** The fieldManager query parameter (required for apply). */
  manager: string;
  /** The force query parameter: take fields other managers own instead of failing. */
  force: boolean;
  gvk: GroupVersionKind;
  now: Date;
}

export interface UpdateTrackingOptions {
  /** The fieldManager query parameter, or the user agent's first token when absent. */
  manager: string;
  operation: 'Update';
  /** `status` for writes through the status subresource. */
  subresource?: string;
  gvk: GroupVersionKind;
  now: Date;
}

type Obj = Record<string, unknown>;

/**
 * Applies `config` (the decoded apply body) to `live` (undefined: create) and returns the object
 * to store, with managedFields. Throws StatusError: 400 for a configuration that does not fit the
 * schema, 409 Conflict with FieldManagerConflict causes.
 */
export function applyServerSide(live: KubeObject | undefined, config: KubeObject, opts: ApplyOptions): KubeObject {
  return guardDepth(() => applyUnguarded(live, config, opts));
}

function applyUnguarded(live: KubeObject | undefined, config: KubeObject, opts: ApplyOptions): KubeObject {
  if (!opts.manager) throw new TypeError('applyServerSide needs a field manager');
  const node = kindNode(opts.gvk);
  const apiVersion = apiVersionOf(opts.gvk);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw badRequest(`error decoding YAML: json: cannot unmarshal ${Array.isArray(config) ? 'array' : typeof config} into Go value of type map[string]interface {}`);
  }
  if (config.apiVersion !== apiVersion || config.kind !== opts.gvk.kind) {
    throw badRequest(`invalid object type: ${gvkString(config.apiVersion, config.kind)}`);
  }
  if (config.metadata?.managedFields != null) throw badRequest('metadata.managedFields must be nil');
  const errors: string[] = [];
  const cfg = convertConfig(config, node, errors) as Obj;
  if (errors.length > 0) {
    const ns = config.metadata?.namespace ?? live?.metadata?.namespace ?? '';
    const detail = errors.length === 1 ? errors[0] : ['errors:', ...errors.map((e) => `  ${e}`)].join('\n');
    throw badRequest(`failed to create typed patch object (${ns}/${config.metadata?.name ?? ''}; ${gvkString(apiVersion, opts.gvk.kind)}): ${detail}`);
  }

  const time = formatTime(opts.now);
  const strip = stripSet(node);
  const liveObj = withoutManagedFields(live);
  const managed = decodeManagedFields(live?.metadata?.managedFields) ?? new Map<string, ManagerEntry>();
  if (managed.size === 0 && live && Object.keys(liveObj).length > 0) {
    // fields set before anyone applied belong to a stand-in Update manager
    const c = compareValues({}, liveObj, node);
    const set = c.added.union(c.modified).difference(strip);
    const e: ManagerEntry = { manager: BEFORE_FIRST_APPLY, operation: 'Update', apiVersion, subresource: '', time, set };
    managed.set(managerId(e), e);
  }
  const applier: ManagerEntry = { manager: opts.manager, operation: 'Apply', apiVersion, subresource: '', time, set: new FieldSet() };
  const applyId = managerId(applier);

  let outcome = apply(liveObj, cfg, node, managed, applier, strip, opts.force);
  if ('conflicts' in outcome && opts.manager === 'kubectl') {
    // kubectl apply --server-side of an object kubectl applied client-side: fields in the
    // last-applied configuration may be taken over
    const allowed = lastAppliedFields(live, node);
    if (allowed) {
      const remaining = outcome.conflicts
        .map(([e, set]) => [e, set.difference(allowed)] as [ManagerEntry, FieldSet])
        .filter(([, set]) => !set.isEmpty());
      outcome = remaining.length === 0 ? apply(liveObj, cfg, node, managed, applier, strip, true) : { conflicts: remaining };
    }
  }
  if ('conflicts' in outcome) throw conflictError(outcome.conflicts);

  const result = normalize(dropNulls(outcome.object) as Obj, opts.gvk);
  if (opts.manager === 'kubectl' && typeof live?.metadata?.annotations?.[LAST_APPLIED_ANNOTATION] === 'string') {
    result.metadata = { ...result.metadata, annotations: { ...result.metadata?.annotations, [LAST_APPLIED_ANNOTATION]: buildLastApplied(config) } };
  }
  const entry = outcome.managed.get(applyId);
  if (entry) entry.time = time;
  return withManagedFields(result, outcome.managed);
}

/**
 * Records in `updated`'s managedFields the fields this create/update/patch changed (relative to
 * `live`, undefined for a create) under `opts.manager`, taking them from other managers. Managed
 * fields sent in the request replace the live ones (that is how clients edit them); `[{}]`
 * clears them.
 */
export function trackUpdate(live: KubeObject | undefined, updated: KubeObject, opts: UpdateTrackingOptions): KubeObject {
  return guardDepth(() => trackUnguarded(live, updated, opts));
}

function trackUnguarded(live: KubeObject | undefined, updated: KubeObject, opts: UpdateTrackingOptions): KubeObject {
  if (!opts.manager) throw new TypeError('trackUpdate needs a field manager');
  const node = kindNode(opts.gvk);
  const apiVersion = apiVersionOf(opts.gvk);
  const subresource = opts.subresource ?? '';
  const sent = updated.metadata?.managedFields;
  let managed: Managed | undefined;
  if (!subresource && Array.isArray(sent) && sent.length === 1 && Object.keys(sent[0] ?? {}).length === 0) {
    managed = new Map();
  } else if (!subresource && Array.isArray(sent) && sent.length > 0) {
    managed = decodeManagedFields(sent);
  }
  managed ??= decodeManagedFields(live?.metadata?.managedFields) ?? new Map();

  const c = compareValues(withoutManagedFields(live), withoutManagedFields(updated), node);
  const changed = c.added.union(c.modified);
  for (const e of managed.values()) e.set = e.set.difference(changed).difference(c.removed);
  const self = changed.difference(stripSet(node));
  if (!self.isEmpty()) {
    const e: ManagerEntry = { manager: opts.manager, operation: 'Update', apiVersion, subresource, time: formatTime(opts.now), set: self };
    const id = managerId(e);
    const prev = managed.get(id);
    managed.set(id, { ...e, set: prev ? prev.set.union(self) : self });
  }
  return withManagedFields(withoutManagedFields(updated) as KubeObject, managed);
}

type Outcome = { object: Obj; managed: Managed } | { conflicts: [ManagerEntry, FieldSet][] };

function apply(
  liveObj: Obj,
  cfg: Obj,
  node: StructNode,
  current: Managed,
  applier: ManagerEntry,
  strip: FieldSet,
  force: boolean,
): Outcome {
  const managed = cloneManaged(current);
  const applyId = managerId(applier);
  const lastSet = managed.get(applyId)?.set;
  const merged = mergeValues(liveObj, cfg, node) as Obj;
  managed.set(applyId, { ...applier, set: toFieldSet(cfg, node).difference(strip) });

  let pruned = merged;
  if (lastSet && !lastSet.isEmpty()) {
    let owned = new FieldSet();
    for (const e of managed.values()) owned = owned.union(e.set);
    pruned = removeFields(merged, lastSet.difference(owned), owned, node) as Obj;
  }

  const c = compareValues(liveObj, pruned, node);
  const changed = c.modified.union(c.added);
  const conflicts: [ManagerEntry, FieldSet][] = [];
  for (const [id, e] of managed) {
    if (id === applyId) continue;
    const overlap = e.set.intersection(changed);
    if (!overlap.isEmpty()) conflicts.push([e, overlap]);
  }
  if (conflicts.length > 0 && !force) return { conflicts };
  for (const [id, e] of managed) {
    if (id !== applyId) e.set = e.set.difference(changed).difference(c.removed);
  }
  for (const [id, e] of managed) if (e.set.isEmpty()) managed.delete(id);
  return { object: pruned, managed };
}

/**
 * 409 `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1:
 * .spec.containers[name="c"].image` with one FieldManagerConflict cause per field.
 */
function conflictError(conflicts: [ManagerEntry, FieldSet][]): StatusError {
  // Kubernetes sorts managers by their identifier
  const sorted = [...conflicts].sort(([a], [b]) => cmp(managerId(a), managerId(b)));
  const list: { manager: ManagerEntry; path: string }[] = [];
  for (const [manager, set] of sorted) {
    for (const p of set.paths()) list.push({ manager, path: formatPath(p) });
  }
  let message: string;
  if (list.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(list[0]!.manager)}: ${list[0]!.path}`;
  } else {
    const lines: string[] = [];
    for (const [manager, set] of sorted) {
      lines.push(`conflicts with ${describeManager(manager)}:`);
      for (const p of set.paths()) lines.push(`- ${formatPath(p)}`);
    }
    message = `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, {
    causes: list.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: c.path })),
  });
}

/** The fields of the client-side last-applied configuration, if the live object has one. */
function lastAppliedFields(live: KubeObject | undefined, node: StructNode): FieldSet | undefined {
  const text = live?.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof text !== 'string' || text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const errors: string[] = [];
  const converted = convertConfig(parsed, node, errors);
  return errors.length > 0 ? undefined : toFieldSet(converted, node);
}

/** The applied configuration as kubectl would record it: without the annotation, keys sorted, newline. */
function buildLastApplied(config: KubeObject): string {
  const copy = structuredClone(config) as Obj & { metadata?: Obj };
  const annotations = copy.metadata?.annotations as Obj | undefined;
  if (annotations) {
    delete annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete copy.metadata!.annotations;
  }
  return `${JSON.stringify(sortKeys(copy))}\n`;
}

/**
 * Paths never recorded for anyone (the stripMeta manager): type and identity metadata, and the
 * top-level structs themselves (present in every typed object, so never "added").
 */
function stripSet(node: StructNode): FieldSet {
  const set = new FieldSet();
  for (const p of ['apiVersion', 'kind', 'metadata']) set.insert([fieldElement(p)]);
  for (const p of ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion']) {
    set.insert([fieldElement('metadata'), fieldElement(p)]);
  }
  for (const [field, child] of node.fields) if (child.kind === 'struct') set.insert([fieldElement(field)]);
  return set;
}

function kindNode(gvk: GroupVersionKind): StructNode {
  const node = compileKind(gvk);
  if (!node) throw new TypeError(`no schema for ${gvk.group}/${gvk.version}, Kind=${gvk.kind}`);
  return node;
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = av.indexOf('/');
  const [group, version] = slash < 0 ? ['', av] : [av.slice(0, slash), av.slice(slash + 1)];
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

function withoutManagedFields(obj: KubeObject | undefined): Obj {
  if (!obj) return {};
  if (!obj.metadata || !('managedFields' in obj.metadata)) return obj as Obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

function withManagedFields(obj: KubeObject, managed: Managed): KubeObject {
  const entries = encodeManagedFields(managed);
  const metadata: Obj = { ...(withoutManagedFields(obj).metadata as Obj | undefined) };
  if (entries.length > 0) metadata.managedFields = entries;
  return { ...obj, metadata } as KubeObject;
}

function normalize(obj: Obj, gvk: GroupVersionKind): KubeObject {
  const decoded = decodeObject(obj, gvk, false);
  if (decoded.error !== undefined) throw internalError(new Error(decoded.error));
  return decoded.object!;
}

function cloneManaged(m: Managed): Managed {
  return new Map([...m].map(([id, e]) => [id, { ...e, set: e.set.clone() }]));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Obj)[k]);
    return out;
  }
  return v;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
