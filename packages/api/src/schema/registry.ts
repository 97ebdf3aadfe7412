/**
 * The generated OpenAPI v3 component schemas (schemas.generated.json) and lookups by GVK.
 */
import { readFileSync } from 'node:fs';

/** A Kubernetes group/version/kind; the core group is `""`. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** One OpenAPI v3 schema object as Kubernetes publishes it. */
export type JsonSchema = { [key: string]: unknown };

/** Every component schema, keyed by definition name (`io.k8s.api.core.v1.Pod`). */
export const schemas: Readonly<Record<string, JsonSchema>> = JSON.parse(
  // the same path from src/schema (sources) and dist/schema (build): the package ships src
  readFileSync(new URL('../../src/schema/schemas.generated.json', import.meta.url), 'utf8'),
) as Record<string, JsonSchema>;

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** `v1` for the core group, `rbac.authorization.k8s.io/v1` otherwise. */
export function apiVersionOf(gv: { group: string; version: string }): string {
  return gv.group ? `${gv.group}/${gv.version}` : gv.version;
}

const byGvk = new Map<string, string>();
for (const [name, schema] of Object.entries(schemas)) {
  const gvks = schema['x-kubernetes-group-version-kind'] as GroupVersionKind[] | undefined;
  for (const gvk of gvks ?? []) {
    const key = gvkKey(gvk);
    if (!byGvk.has(key)) byGvk.set(key, name);
  }
}

/** The definition name of a kind (`io.k8s.api.core.v1.Pod`), or undefined if none is served. */
export function schemaNameForGvk(gvk: GroupVersionKind): string | undefined {
  return byGvk.get(gvkKey(gvk));
}

/** The definition name a `$ref` points at. */
export function refName(ref: string): string {
  if (!ref.startsWith(SCHEMA_REF_PREFIX)) throw new TypeError(`unsupported $ref ${ref}`);
  return ref.slice(SCHEMA_REF_PREFIX.length);
}

/** All definition names a schema references, transitively, including `name` itself. */
export function referencedSchemaNames(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    const schema = schemas[name];
    if (!schema) throw new TypeError(`no schema named ${name}`);
    seen.add(name);
    collectRefs(schema, stack);
  }
  return seen;
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(refName(v));
      else collectRefs(v, out);
    }
  }
}
