/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), the patch `kubectl apply`
 * (client-side) and `kubectl patch` send, applied as the apiserver applies it
 * (k8s.io/apimachinery/pkg/util/strategicpatch, MergeParallelList + IgnoreUnmatchedNulls):
 *
 * - maps merge key by key; `null` deletes a key;
 * - lists whose field has `patchStrategy: merge` merge: lists of maps by the patch merge key
 *   (`containers` by `name`), lists of scalars as a set; other lists are replaced;
 * - directives: `$patch: replace | delete` in a map, `{$patch: replace}` or
 *   `{<key>: v, $patch: delete}` in a list, `$retainKeys` (drop keys not listed),
 *   `$setElementOrder/<field>` (order of the merged list), `$deleteFromPrimitiveList/<field>`;
 * - `kubectl.kubernetes.io/last-applied-configuration` is an annotation like any other.
 *
 * Patch strategies and merge keys come from the schema (the `x-kubernetes-patch-*` extensions,
 * which mirror the Go struct tags the apiserver reads).
 */
import { compileKind, type Node } from '../schema/compile.js';
import type { GroupVersionKind } from '../schema/registry.js';
import type { KubeObject } from '../objects.js';
import { type StatusError } from '../status.js';
import { badPatch, guardDepth, patchRejected, unknownError } from './errors.js';
import { goFormat } from './go-format.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

type Obj = Record<string, unknown>;

/** How the apiserver answers a patch error (interpretStrategicMergePatchError). */
class SmpError extends Error {
  constructor(
    message: string,
    readonly answer: 'badRequest' | 'unprocessable' | 'internal',
  ) {
    super(message);
  }
}

const ERR_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';
const ERR_LIST_OF_LISTS = 'lists of lists are not supported';

/** Applies a strategic merge patch to `original` (not modified) and returns the result. */
export function applyStrategicMergePatch(original: KubeObject, patch: unknown, gvk: GroupVersionKind): KubeObject {
  return strategicMerge(original, patch, gvk).object;
}

/**
 * The patched object and the patch map as the merge left it (the apiserver prints that map,
 * `%+v`, in decode errors of the result).
 */
export function strategicMerge(
  original: KubeObject,
  patch: unknown,
  gvk: GroupVersionKind,
): { object: KubeObject; consumedPatch: string } {
  const node = compileKind(gvk);
  if (!node) throw new TypeError(`no schema for ${gvk.group}/${gvk.version}, Kind=${gvk.kind}`);
  if (patch === null) patch = {}; // `null` decodes to an empty patch map
  if (!isObject(patch)) {
    throw badPatch(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
  }
  const input = patch;
  return guardDepth(() => {
    const patchCopy = structuredClone(input);
    try {
      const object = mergeMap(structuredClone(original) as Obj, patchCopy, node) as KubeObject;
      return { object, consumedPatch: goFormat(patchCopy) };
    } catch (err) {
      if (err instanceof SmpError) throw toStatus(err);
      throw err;
    }
  });
}

function toStatus(err: SmpError): StatusError {
  switch (err.answer) {
    case 'badRequest':
      return badPatch(err.message);
    case 'unprocessable':
      return patchRejected();
    case 'internal':
      return unknownError(err.message);
  }
}

interface FieldMeta {
  node: Node | undefined;
  strategy: string;
  mergeKey: string;
}

/** The schema node and patch strategy of `key` within `node` (LookupPatchMetadataForStruct/Slice). */
function lookup(node: Node | undefined, key: string): FieldMeta {
  if (node?.kind === 'struct') {
    const child = node.fields.get(key);
    if (child?.kind === 'list') return { node: child.items, strategy: child.patchStrategy ?? '', mergeKey: child.patchMergeKey ?? '' };
    if (child?.kind === 'map') return { node: child.values, strategy: child.patchStrategy ?? '', mergeKey: '' };
    return { node: child, strategy: '', mergeKey: '' };
  }
  if (node?.kind === 'map') {
    const values = node.values;
    if (values.kind === 'list') return { node: values.items, strategy: values.patchStrategy ?? '', mergeKey: values.patchMergeKey ?? '' };
    return { node: values, strategy: '', mergeKey: '' };
  }
  return { node: undefined, strategy: '', mergeKey: '' };
}

/** The child node to recurse into for a map-valued `key` (the map node itself for map fields). */
function mapChild(node: Node | undefined, key: string): Node | undefined {
  if (node?.kind === 'struct') return node.fields.get(key);
  if (node?.kind === 'map') return node.values;
  return undefined;
}

/** `merge,retainKeys` → `merge` (extractRetainKeysPatchStrategy). */
function withoutRetainKeys(strategy: string): string {
  if (!strategy) return '';
  const parts = strategy.split(',');
  if (parts.length === 1) return parts[0] === 'retainKeys' ? '' : parts[0]!;
  if (parts.length === 2) {
    if (parts[0] === 'retainKeys') return parts[1]!;
    if (parts[1] === 'retainKeys') return parts[0]!;
  }
  throw new SmpError(`unexpected patch strategy: [${parts.join(' ')}]`, 'internal');
}

function mergeMap(original: Obj | undefined, patch: Obj, node: Node | undefined): Obj {
  if (DIRECTIVE in patch) return handleDirectiveInMap(patch[DIRECTIVE], patch);
  const orig = original ?? {};
  applyRetainKeys(orig, patch);
  mergePatchIntoOriginal(orig, patch, node);

  for (const k of Object.keys(patch)) {
    const patchV = patch[k];
    let key = k;
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = k.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[key];
      continue;
    }
    if (!(key in orig)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        orig[key] = patchV;
      }
      continue;
    }
    const origV = orig[key];
    if (typeTag(origV) !== typeTag(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        orig[key] = patchV;
      }
      continue;
    }
    if (isObject(origV)) {
      const meta = lookup(node, key);
      const strategy = withoutRetainKeys(meta.strategy);
      orig[key] = strategy === 'replace' ? patchV : mergeMap(origV, patchV as Obj, mapChild(node, key));
    } else if (Array.isArray(origV)) {
      const meta = lookup(node, key);
      orig[key] = mergeSliceHandler(origV, patchV as unknown[], meta.node, withoutRetainKeys(meta.strategy), meta.mergeKey, isDeleteList);
    } else {
      orig[key] = patchV;
    }
  }
  return orig;
}

function handleDirectiveInMap(directive: unknown, patch: Obj): Obj {
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === 'delete') return {};
  throw new SmpError(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(patch)}`, 'internal');
}

/** `$retainKeys`: keys of the original not listed are dropped; the patch may only set listed keys. */
function applyRetainKeys(original: Obj, patch: Obj): void {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep)) throw new SmpError(ERR_RETAIN_KEYS, 'badRequest');
  const keys = new Set(keep);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keys.has(k)) throw new SmpError(ERR_RETAIN_KEYS, 'badRequest');
  }
  for (const k of Object.keys(original)) if (!keys.has(k)) delete original[k];
}

/** `$setElementOrder/<field>`: merges that field's list now and orders it; both keys leave the patch. */
function mergePatchIntoOriginal(original: Obj, patch: Obj, node: Node | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    if (!Array.isArray(order)) throw new SmpError(`expected a []interface {}, but received a ${goTypeOf(order)}`, 'internal');
    const field = key.slice(SET_ELEMENT_ORDER.length);
    if (!field) throw new SmpError(`failed to find the key: ${key}`, 'internal');
    const foundOriginal = field in original;
    const foundPatch = field in patch;
    const originalList = original[field];
    const patchList = patch[field];
    if (foundOriginal && !Array.isArray(originalList)) {
      throw new SmpError(`expected a []interface {}, but received a ${goTypeOf(originalList)}`, 'internal');
    }
    if (foundPatch && !Array.isArray(patchList)) {
      throw new SmpError(`expected a []interface {}, but received a ${goTypeOf(patchList)}`, 'internal');
    }
    const origArr = (originalList as unknown[] | undefined) ?? [];
    const patchArr = (patchList as unknown[] | undefined) ?? [];
    const meta = lookup(node, field);
    const strategy = withoutRetainKeys(meta.strategy);
    validatePatchWithSetOrderList(patchArr, order, meta.mergeKey);

    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = origArr;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchArr) as unknown[];
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(origArr, patchArr, meta.node, strategy, meta.mergeKey, false);
    else continue;

    const [patchItems, serverOnly] = meta.mergeKey
      ? partitionMaps(merged, order, meta.mergeKey)
      : partitionPrimitives(merged, order);
    const kind = elementKind(origArr, patchArr);
    original[field] = normalizeElementOrder(patchItems, serverOnly, order, origArr, meta.mergeKey, kind);
    delete patch[field];
    delete patch[key];
  }
}

function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? patchList.filter((e) => !(isObject(e) && e[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let o = 0;
  while (p < nonDelete.length && o < order.length) {
    if (isObject(nonDelete[p]) && DIRECTIVE in (nonDelete[p] as Obj)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(nonDelete[p], order[o], mergeKey)) p++;
    o++;
  }
  if (p < nonDelete.length && o >= order.length) {
    throw new SmpError(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`,
      'internal',
    );
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left) || !isObject(right)) throw new SmpError(ERR_SET_ELEMENT_ORDER, 'badRequest');
  if (!(mergeKey in left)) throw noMergeKey(left, mergeKey);
  if (!(mergeKey in right)) throw noMergeKey(right, mergeKey);
  return valueEqual(left[mergeKey], right[mergeKey]);
}

function mergeSliceHandler(
  original: unknown[],
  patch: unknown[],
  itemNode: Node | undefined,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): unknown[] {
  if (strategy === 'merge' || isDeleteList) return mergeSlice(original, patch, itemNode, mergeKey, isDeleteList);
  return patch;
}

function mergeSlice(original: unknown[], patch: unknown[], itemNode: Node | undefined, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  let merged: unknown[];
  let orig = original;
  let pat = patch;
  if (kind !== 'map') {
    if (isDeleteList) return original.filter((v) => !patch.some((d) => valueEqual(d, v)));
    merged = dedupe([...original, ...patch]);
  } else {
    if (!mergeKey) throw new SmpError(`cannot merge lists without merge key for ${itemNode?.goType ?? 'unknown'}`, 'internal');
    [orig, pat] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(orig, pat, mergeKey, itemNode);
  }
  const [patchItems, serverOnly] = mergeKey ? partitionMaps(merged, pat, mergeKey) : partitionPrimitives(merged, pat);
  return normalizeElementOrder(patchItems, serverOnly, pat, orig, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const plain: unknown[] = [];
  let replace = false;
  let orig = original;
  for (const v of patch) {
    const m = v as Obj;
    if (!(DIRECTIVE in m)) {
      plain.push(v);
      continue;
    }
    switch (m[DIRECTIVE]) {
      case 'delete':
        if (!(mergeKey in m)) throw noMergeKey(m, mergeKey);
        orig = orig.filter((e) => !(isObject(e) && valueEqual(e[mergeKey], m[mergeKey])));
        break;
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw new SmpError('merging lists cannot yet be specified in the patch', 'internal');
      default:
        throw new SmpError(`unknown patch type: ${goFormat(m[DIRECTIVE])} in map: ${goFormat(m)}`, 'internal');
    }
  }
  return replace ? [plain, []] : [orig, plain];
}

function mergeSliceWithoutSpecialElements(original: unknown[], patch: unknown[], mergeKey: string, itemNode: Node | undefined): unknown[] {
  const out = [...original]; // Go appends to its own slice header: the caller's list keeps its length
  for (const v of patch) {
    const m = v as Obj;
    if (!(mergeKey in m)) throw noMergeKey(m, mergeKey);
    const i = out.findIndex((e) => isObject(e) && mergeKey in e && valueEqual(e[mergeKey], m[mergeKey]));
    if (i >= 0) out[i] = mergeMap(out[i] as Obj, m, itemNode);
    else out.push(v);
  }
  return out;
}

/** Splits `merged` into the items present in `patch` and the ones only the server has. */
function partitionMaps(merged: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (!isObject(v)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeOf(v)}`, 'internal');
    if (!(mergeKey in v)) throw noMergeKey(v, mergeKey);
    const found = patch.some((p) => isObject(p) && valueEqual(p[mergeKey], v[mergeKey]));
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

function partitionPrimitives(merged: unknown[], patch: unknown[]): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) (patch.some((p) => valueEqual(p, v)) ? inPatch : serverOnly).push(v);
  return [inPatch, serverOnly];
}

/**
 * Orders patch items by `patchOrder` and server-only items by `serverOrder`, then interleaves
 * them, keeping each group's relative order (normalizeElementOrder + mergeSortedSlice).
 */
function normalizeElementOrder(
  patch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: string,
): unknown[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  const indexOf = (list: unknown[], item: unknown): number => index(list, item, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < s.length || j < p.length) {
    if (i >= s.length) out.push(p[j++]);
    else if (j >= p.length) out.push(s[i++]);
    else {
      const li = indexOf(serverOrder, s[i]);
      const ri = indexOf(serverOrder, p[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(s[i++]);
      else out.push(p[j++]);
    }
  }
  return out;
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: string): unknown[] {
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isObject(item)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeOf(item)}`, 'internal');
        if (!(mergeKey in item)) throw noMergeKey(item, mergeKey);
      }
    }
    toDelete = order.filter((e) => isObject(e) && e[DIRECTIVE] === 'delete');
  }
  const positioned = toSort.map((item, pos) => ({ item, pos, at: index(order, item, mergeKey, kind) }));
  positioned.sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.pos - b.pos));
  let sorted = positioned.map((e) => e.item);
  for (const d of toDelete) {
    const key = (d as Obj)[mergeKey];
    sorted = sorted.filter((e) => !(isObject(e) && valueEqual(e[mergeKey], key)));
  }
  return sorted;
}

function index(list: unknown[], item: unknown, mergeKey: string, kind: string): number {
  if (kind === 'map' && mergeKey) {
    const key = (item as Obj)[mergeKey];
    return list.findIndex((e) => isObject(e) && valueEqual(e[mergeKey], key));
  }
  return list.findIndex((e) => valueEqual(e, item));
}

/** The kind shared by the elements of the lists (sliceElementType): map, list is an error, scalar. */
function elementKind(...lists: unknown[][]): string {
  let kind: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const t = typeTag(v);
      if (kind === undefined) {
        if (t === 'slice') throw new SmpError(ERR_LIST_OF_LISTS, 'unprocessable');
        kind = t;
      } else if (t !== kind) {
        throw new SmpError(`list element types are not identical: ${goFormat(lists)}`, 'internal');
      }
    }
  }
  if (kind === undefined) throw new SmpError('no elements in any of the given slices', 'internal');
  return kind;
}

function dedupe(list: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of list) if (!out.some((e) => valueEqual(e, v))) out.push(v);
  return out;
}

/** Drops null members from patch maps (IgnoreUnmatchedNulls), in place. */
function discardNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (const e of v) discardNulls(e);
  } else if (isObject(v)) {
    for (const [k, e] of Object.entries(v)) {
      if (e === null) delete v[k];
      else discardNulls(e);
    }
  }
}

/** A list added through `$setElementOrder` loses its directive elements and `$` keys. */
function removeDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isObject(e) && DIRECTIVE in e)).map(removeDirectives);
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, e] of Object.entries(v)) if (!k.startsWith('$')) out[k] = removeDirectives(e);
    return out;
  }
  return v;
}

function noMergeKey(m: Obj, key: string): SmpError {
  return new SmpError(`map: ${goFormat(m)} does not contain declared merge key: ${key}`, 'internal');
}

function valueEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Go's reflect kind of a decoded JSON value, as far as the merge cares. */
function typeTag(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v;
}

function goTypeOf(v: unknown): string {
  switch (typeTag(v)) {
    case 'slice':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'nil':
      return '%!s(<nil>)';
    case 'boolean':
      return 'bool';
    default:
      return typeTag(v);
  }
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}
