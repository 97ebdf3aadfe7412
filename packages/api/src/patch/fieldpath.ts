/**
 * Sets of field paths, as structured-merge-diff keeps them and `metadata.managedFields[].fieldsV1`
 * serializes them: a trie whose edges are path elements — `f:<field>` (a struct field or map key),
 * `k:{"name":"c"}` (a list item by its keys), `v:"x"` (a set item), `i:0` (an index) — and whose
 * members are the paths that are in the set. In FieldsV1, `{}` is a member leaf and `".": {}`
 * marks a member that also has children.
 */

export class FieldSet {
  /** Path elements that are members at this level. */
  readonly members = new Set<string>();
  /** Path elements with members below them. */
  readonly children = new Map<string, FieldSet>();

  /** Adds the path (a list of path elements); the empty path is not representable and ignored. */
  insert(path: readonly string[]): void {
    if (path.length === 0) return;
    const parent = path.slice(0, -1).reduce<FieldSet>((n, pe) => n.child(pe), this);
    parent.members.add(path[path.length - 1]!);
  }

  has(path: readonly string[]): boolean {
    const parent = path.slice(0, -1).reduce<FieldSet | undefined>((n, pe) => n?.children.get(pe), this);
    return parent !== undefined && parent.members.has(path[path.length - 1]!);
  }

  /** The subset below a path element (empty if none). */
  childSet(pe: string): FieldSet {
    return this.children.get(pe) ?? EMPTY;
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(other: FieldSet): FieldSet {
    const out = this.clone();
    out.addAll(other);
    return out;
  }

  /** Members of this set that are not members of `other` (children of removed members stay). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      const d = o ? c.difference(o) : c.clone();
      if (!d.isEmpty()) out.children.set(pe, d);
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      if (!o) continue;
      const i = c.intersection(o);
      if (!i.isEmpty()) out.children.set(pe, i);
    }
    return out;
  }

  /** Every member path, in sorted order. */
  paths(prefix: string[] = []): string[][] {
    const out: string[][] = [];
    const keys = new Set([...this.members, ...this.children.keys()]);
    for (const pe of [...keys].sort(comparePathElements)) {
      if (this.members.has(pe)) out.push([...prefix, pe]);
      const c = this.children.get(pe);
      if (c) out.push(...c.paths([...prefix, pe]));
    }
    return out;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    out.addAll(this);
    return out;
  }

  /** The FieldsV1 JSON form. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = new Set([...this.members, ...this.children.keys()]);
    for (const pe of [...keys].sort(comparePathElements)) {
      const c = this.children.get(pe);
      const hasChildren = c !== undefined && !c.isEmpty();
      if (!hasChildren) {
        if (this.members.has(pe)) out[pe] = {};
        continue;
      }
      const inner = c.toFieldsV1();
      out[pe] = this.members.has(pe) ? { '.': {}, ...inner } : inner;
    }
    return out;
  }

  /** Parses FieldsV1 JSON; throws TypeError on a malformed value. */
  static fromFieldsV1(value: unknown): FieldSet {
    const out = new FieldSet();
    out.read(value);
    return out;
  }

  private read(value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('fieldsV1 must be an object');
    for (const [pe, v] of Object.entries(value)) {
      if (pe === '.') throw new TypeError('"." at the top of a fieldsV1 set');
      if (!/^[fkvi]:/.test(pe)) throw new TypeError(`bad path element ${JSON.stringify(pe)}`);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError('fieldsV1 entries must be objects');
      const entries = Object.keys(v);
      if (entries.length === 0 || entries.includes('.')) this.members.add(pe);
      const rest = Object.fromEntries(Object.entries(v).filter(([k]) => k !== '.'));
      if (Object.keys(rest).length > 0) this.child(pe).read(rest);
    }
  }

  /** The subset below a path element, created if missing (for building sets level by level). */
  child(pe: string): FieldSet {
    let c = this.children.get(pe);
    if (!c) {
      c = new FieldSet();
      this.children.set(pe, c);
    }
    return c;
  }

  private addAll(other: FieldSet): void {
    for (const m of other.members) this.members.add(m);
    for (const [pe, c] of other.children) this.child(pe).addAll(c);
  }
}

const EMPTY = new FieldSet();

/** A level of a set being built, materialized on the first insert below it. */
export class SetCursor {
  private set: FieldSet | undefined;
  constructor(
    private readonly parent: SetCursor | FieldSet,
    private readonly pe: string,
  ) {}

  static root(set: FieldSet): SetCursor {
    const c = new SetCursor(set, '');
    c.set = set;
    return c;
  }

  /** Adds the member `pe` at this level. */
  add(pe: string): void {
    this.get().members.add(pe);
  }

  /** The cursor one level down, under `pe`. */
  down(pe: string): SetCursor {
    return new SetCursor(this, pe);
  }

  private get(): FieldSet {
    if (!this.set) this.set = (this.parent instanceof FieldSet ? this.parent : this.parent.get()).child(this.pe);
    return this.set;
  }
}

const TYPE_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Field names before keys before values before indices, then by text (SMD's PathElement order). */
export function comparePathElements(a: string, b: string): number {
  const ta = TYPE_ORDER[a[0]!] ?? 9;
  const tb = TYPE_ORDER[b[0]!] ?? 9;
  if (ta !== tb) return ta - tb;
  if (a[0] === 'i' && b[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `f:name` → `.name`, `k:{"name":"c"}` → `[name="c"]`, `v:"x"` → `[="x"]`, `i:0` → `[0]`. */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        out += `.${body}`;
        break;
      case 'k': {
        const keys = JSON.parse(body) as Record<string, unknown>;
        out += `[${Object.entries(keys)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
        break;
      }
      case 'v':
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}

export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** `k:{…}` with the key fields in sorted order. */
export function keyElement(keys: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(keys).sort()) sorted[k] = keys[k];
  return `k:${JSON.stringify(sorted)}`;
}

export function valueElement(value: unknown): string {
  return `v:${JSON.stringify(value)}`;
}
