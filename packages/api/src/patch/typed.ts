/**
 * Values walked with their schema the way structured-merge-diff walks them for server-side
 * apply: converting an apply configuration (unknown fields and wrong types are errors), the set of
 * fields a value sets, comparing two values (added, modified, removed paths), merging a
 * configuration into a live object, and removing owned-by-nobody fields.
 *
 * Struct fields and map keys are `f:` elements; `+listType=map` items are `k:` elements by their
 * keys, `+listType=set` items `v:` elements; atomic lists, atomic structs and scalars are leaves.
 * `null` is a value here (an applier may own a field it sets to null); absent is `undefined`.
 */
import type { ListNode, Node } from '../schema/compile.js';
import { canonicalQuantity, QuantityError } from '../schema/quantity.js';
import { canonicalTime, TimeParseError } from '../schema/time.js';
import { fieldElement, FieldSet, formatPath, keyElement, SetCursor, valueElement } from './fieldpath.js';

type Obj = Record<string, unknown>;
type Category = 'scalar' | 'atomic' | 'struct' | 'map' | 'setList' | 'mapList';

/** List map keys that have a schema default (structured-merge-diff fills them in). */
const KEY_DEFAULTS: Record<string, Record<string, unknown>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
};

function category(node: Node | undefined): Category {
  if (!node) return 'scalar';
  switch (node.kind) {
    case 'struct':
      return node.atomic ? 'atomic' : 'struct';
    case 'map':
      return node.atomic ? 'atomic' : 'map';
    case 'list':
      if (node.listType === 'set') return 'setList';
      if (node.listType === 'map' && node.mapKeys.length > 0) return 'mapList';
      return 'atomic';
    default:
      return 'scalar';
  }
}

function childNode(node: Node | undefined, key: string): Node | undefined {
  if (node?.kind === 'struct') return node.fields.get(key);
  if (node?.kind === 'map') return node.values;
  return undefined;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The path element of a list item, or an error text. */
export function listItemElement(item: unknown, list: ListNode): string | { error: string } {
  if (list.listType === 'set') {
    if (isObj(item) || Array.isArray(item)) return { error: 'sets may only contain scalars' };
    return valueElement(item);
  }
  if (!isObj(item)) return { error: 'associative list with keys may only contain maps' };
  const defaults = list.items.kind === 'struct' ? KEY_DEFAULTS[list.items.name] : undefined;
  const keys: Obj = {};
  for (const k of list.mapKeys) {
    const v = item[k] ?? defaults?.[k];
    if (v === undefined || v === null) {
      return { error: `associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)` };
    }
    keys[k] = v;
  }
  return keyElement(keys);
}

// ---------------------------------------------------------------------------------------------
// converting an apply configuration

/**
 * Validates an apply configuration against the schema and returns it with canonical scalars
 * (quantities, times); `errors` receives structured-merge-diff style messages
 * (`.spec.foo: field not declared in schema`).
 */
export function convertConfig(value: unknown, node: Node, errors: string[], path: string[] = []): unknown {
  if (value === null) return null;
  const here = (msg: string): undefined => {
    errors.push(path.length ? `${formatPath(path)}: ${msg}` : msg);
    return undefined;
  };
  switch (node.kind) {
    case 'struct':
    case 'map': {
      if (!isObj(value)) return here(`expected map, got ${describe(value)}`);
      const out: Obj = {};
      for (const [k, v] of Object.entries(value)) {
        const child = childNode(node, k);
        if (!child) {
          errors.push(`${formatPath([...path, fieldElement(k)])}: field not declared in schema`);
          continue;
        }
        const converted = convertConfig(v, child, errors, [...path, fieldElement(k)]);
        if (converted !== undefined) out[k] = converted;
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) return here(`expected list, got ${describe(value)}`);
      const seen = new Set<string>();
      const out: unknown[] = [];
      value.forEach((item, i) => {
        let itemPath = [...path, `i:${i}`];
        if (node.listType !== 'atomic' && !(node.listType === 'map' && node.mapKeys.length === 0)) {
          const pe = listItemElement(item, node);
          if (typeof pe !== 'string') {
            here(`element ${i}: ${pe.error}`);
            return;
          }
          if (seen.has(pe)) {
            here(`duplicate entries for key ${formatPath([pe])}`);
            return;
          }
          seen.add(pe);
          itemPath = [...path, pe];
        }
        const converted = convertConfig(item, node.items, errors, itemPath);
        if (converted !== undefined) out.push(converted);
      });
      return out;
    }
    case 'string':
      return typeof value === 'string' ? value : here(`expected string, got ${describe(value)}`);
    case 'bytes':
      return typeof value === 'string' ? value : here(`expected string, got ${describe(value)}`);
    case 'bool':
      return typeof value === 'boolean' ? value : here(`expected boolean, got ${describe(value)}`);
    case 'int32':
    case 'int64':
      return typeof value === 'number' && Number.isInteger(value) ? value : here(`expected numeric (int or float), got ${describe(value)}`);
    case 'float':
      return typeof value === 'number' ? value : here(`expected numeric (int or float), got ${describe(value)}`);
    case 'intOrString':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))
        ? value
        : here(`expected string or int, got ${describe(value)}`);
    case 'quantity':
      if (typeof value !== 'string' && typeof value !== 'number') return here(`expected string or numeric, got ${describe(value)}`);
      try {
        return canonicalQuantity(value);
      } catch (err) {
        if (err instanceof QuantityError) return here(err.message);
        throw err;
      }
    case 'time':
      if (typeof value !== 'string') return here(`expected string, got ${describe(value)}`);
      try {
        return canonicalTime(value, node.micro);
      } catch (err) {
        if (err instanceof TimeParseError) return here(err.message);
        throw err;
      }
    case 'opaque':
      return value;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (isObj(v)) return 'map';
  return `${typeof v === 'number' ? 'numeric' : typeof v} ${JSON.stringify(v)}`;
}

// ---------------------------------------------------------------------------------------------
// field sets

/** The fields a value sets (structured-merge-diff's ToFieldSet). */
export function toFieldSet(value: unknown, node: Node): FieldSet {
  const set = new FieldSet();
  fieldsOf(value, node, [], set);
  return set;
}

function fieldsOf(value: unknown, node: Node | undefined, path: string[], set: FieldSet): void {
  if (value === undefined) return;
  const cat = value === null ? 'scalar' : category(node);
  switch (cat) {
    case 'scalar':
    case 'atomic':
      set.insert(path);
      return;
    case 'struct':
    case 'map': {
      if (!isObj(value)) return set.insert(path);
      for (const [k, v] of Object.entries(value)) {
        const p = [...path, fieldElement(k)];
        fieldsOf(v, childNode(node, k), p, set);
        // struct fields are members only when null or empty; map keys always
        if (v === null || (isObj(v) && Object.keys(v).length === 0) || cat === 'map') set.insert(p);
      }
      return;
    }
    case 'setList':
    case 'mapList': {
      if (!Array.isArray(value)) return set.insert(path);
      const list = node as ListNode;
      for (const item of value) {
        const pe = listItemElement(item, list);
        if (typeof pe !== 'string') continue;
        const p = [...path, pe];
        fieldsOf(item, list.items, p, set);
        set.insert(p);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// comparing

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The paths added, modified and removed going from `lhs` to `rhs` (typed.Compare). */
export function compareValues(lhs: unknown, rhs: unknown, node: Node): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const root: Level = { added: SetCursor.root(c.added), modified: SetCursor.root(c.modified), removed: SetCursor.root(c.removed) };
  compareChildren(lhs, rhs, node, root);
  return c;
}

/** The three sets at one level of the walk. */
interface Level {
  added: SetCursor;
  modified: SetCursor;
  removed: SetCursor;
}

/** Compares the value at `pe` (below `level`) and records the item itself as added or removed. */
function compareAt(lhs: unknown, rhs: unknown, node: Node | undefined, level: Level, pe: string): void {
  if (lhs === undefined) {
    level.added.add(pe);
  } else if (rhs === undefined) {
    level.removed.add(pe);
  }
  const cat = lhs === null || rhs === null ? 'scalar' : category(node);
  if (cat === 'scalar' || cat === 'atomic' || !sameShape(lhs, rhs, cat)) {
    if (lhs !== undefined && rhs !== undefined && !deepEqual(lhs, rhs)) level.modified.add(pe);
    return;
  }
  compareChildren(lhs, rhs, node, { added: level.added.down(pe), modified: level.modified.down(pe), removed: level.removed.down(pe) });
}

function compareChildren(lhs: unknown, rhs: unknown, node: Node | undefined, level: Level): void {
  switch (category(node)) {
    case 'struct':
    case 'map': {
      const l = isObj(lhs) ? lhs : EMPTY_OBJ;
      const r = isObj(rhs) ? rhs : EMPTY_OBJ;
      for (const k in l) compareAt(l[k], r[k], childNode(node, k), level, fieldElement(k));
      for (const k in r) if (!(k in l)) compareAt(undefined, r[k], childNode(node, k), level, fieldElement(k));
      return;
    }
    case 'setList':
    case 'mapList': {
      const list = node as ListNode;
      const l = indexList(Array.isArray(lhs) ? lhs : [], list);
      const r = indexList(Array.isArray(rhs) ? rhs : [], list);
      for (const [pe, v] of l) compareAt(v, r.get(pe), list.items, level, pe);
      for (const [pe, v] of r) if (!l.has(pe)) compareAt(undefined, v, list.items, level, pe);
      return;
    }
    default:
  }
}

const EMPTY_OBJ: Obj = Object.freeze({}) as Obj;

/** Whether present values have the shape their category walks (a map for a struct, a list for a list). */
function sameShape(lhs: unknown, rhs: unknown, cat: Category): boolean {
  const ok = (v: unknown): boolean => v === undefined || (cat === 'struct' || cat === 'map' ? isObj(v) : Array.isArray(v));
  return ok(lhs) && ok(rhs);
}

function indexList(items: unknown[], list: ListNode): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const item of items) {
    const pe = listItemElement(item, list);
    if (typeof pe === 'string') out.set(pe, item);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// merging

/** `rhs` merged into `lhs` (typed.Merge): config wins for scalars and atomics, maps and keyed lists merge. */
export function mergeValues(lhs: unknown, rhs: unknown, node: Node | undefined): unknown {
  if (rhs === undefined) return lhs;
  if (lhs === undefined || lhs === null || rhs === null) return rhs;
  switch (category(node)) {
    case 'struct':
    case 'map': {
      if (!isObj(lhs) || !isObj(rhs)) return rhs;
      const out: Obj = { ...lhs };
      for (const [k, v] of Object.entries(rhs)) out[k] = mergeValues(lhs[k], v, childNode(node, k));
      return out;
    }
    case 'setList':
    case 'mapList':
      if (!Array.isArray(lhs) || !Array.isArray(rhs)) return rhs;
      return mergeLists(lhs, rhs, node as ListNode);
    default:
      return rhs;
  }
}

/**
 * structured-merge-diff's list merge: items only the live list has keep their place, shared items
 * follow the configuration's order, items only the configuration has are inserted where it puts them.
 */
function mergeLists(lhs: unknown[], rhs: unknown[], list: ListNode): unknown[] {
  const element = (v: unknown): string => {
    const pe = listItemElement(v, list);
    return typeof pe === 'string' ? pe : `?${JSON.stringify(v)}`;
  };
  const lPEs = lhs.map(element);
  const rPEs = rhs.map(element);
  const lByPE = new Map(lPEs.map((pe, i) => [pe, lhs[i]]));
  const rByPE = new Map(rPEs.map((pe, i) => [pe, rhs[i]]));
  const shared = rPEs.filter((pe) => lByPE.has(pe));
  let nextShared = shared.shift();
  const mergedRHS = new Set<string>();
  const out: unknown[] = [];
  const merge = (pe: string): void => {
    out.push(mergeValues(lByPE.get(pe), rByPE.get(pe), list.items));
  };
  let li = 0;
  let ri = 0;
  while (li < lPEs.length || ri < rPEs.length) {
    if (li < lPEs.length && ri < rPEs.length) {
      const pe = lPEs[li]!;
      if (pe === rPEs[ri]) {
        mergedRHS.add(pe);
        merge(pe);
        li++;
        ri++;
        nextShared = shared.shift();
        continue;
      }
      if (rByPE.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lPEs.length) {
      const pe = lPEs[li]!;
      if (!rByPE.has(pe)) {
        out.push(lhs[li]);
        li++;
        continue;
      }
      if (mergedRHS.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rPEs.length) {
      const pe = rPEs[ri]!;
      mergedRHS.add(pe);
      merge(pe);
      ri++;
      if (nextShared === pe) nextShared = shared.shift();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pruning

/**
 * Removes from `value` what `remove` holds (each member path with everything below it), except
 * what `keep` holds at or below it, and except the key fields of list items that stay.
 */
export function removeFields(value: unknown, remove: FieldSet, keep: FieldSet, node: Node | undefined): unknown {
  if (remove.isEmpty()) return value;
  switch (category(node)) {
    case 'struct':
    case 'map': {
      if (!isObj(value)) return value;
      const out: Obj = {};
      for (const [k, v] of Object.entries(value)) {
        const pe = fieldElement(k);
        const keepBelow = keep.childSet(pe);
        if (remove.members.has(pe) && !keep.members.has(pe) && keepBelow.isEmpty()) continue;
        out[k] = removeFields(v, remove.childSet(pe), keepBelow, childNode(node, k));
      }
      return out;
    }
    case 'setList':
    case 'mapList': {
      if (!Array.isArray(value)) return value;
      const list = node as ListNode;
      const out: unknown[] = [];
      for (const item of value) {
        const pe = listItemElement(item, list);
        if (typeof pe !== 'string') {
          out.push(item);
          continue;
        }
        const keepBelow = keep.childSet(pe);
        if (remove.members.has(pe) && !keep.members.has(pe) && keepBelow.isEmpty()) continue;
        let kept = removeFields(item, remove.childSet(pe), keepBelow, list.items);
        if (isObj(kept) && isObj(item) && list.listType === 'map') {
          kept = { ...kept };
          for (const k of list.mapKeys) if (k in item) (kept as Obj)[k] = item[k];
        }
        out.push(kept);
      }
      return out;
    }
    default:
      return value;
  }
}

/** Drops nulls (a typed object has no null fields) and empty results of them. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Obj)[k], (b as Obj)[k]));
}
