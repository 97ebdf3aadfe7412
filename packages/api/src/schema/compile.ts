/**
 * Compiles the OpenAPI schemas into a small typed model the decoder, the strategic merge patch
 * and server-side apply walk without looking anything up per request. Compiled once per
 * definition and cached; named struct nodes are shared, so recursive types are fine.
 */
import { refName, schemaNameForGvk, schemas, type GroupVersionKind, type JsonSchema } from './registry.js';

export type Node =
  | StructNode
  | ListNode
  | MapNode
  | ScalarNode
  | { kind: 'time'; micro: boolean; goType: string }
  | { kind: 'quantity'; goType: string }
  | { kind: 'intOrString'; goType: string }
  /** RawExtension, FieldsV1, Patch: any JSON, kept as is. */
  | { kind: 'opaque'; goType: string };

export interface ScalarNode {
  kind: 'string' | 'bytes' | 'int32' | 'int64' | 'float' | 'bool';
  goType: string;
}

export interface StructNode {
  kind: 'struct';
  /** Definition name, `io.k8s.api.core.v1.PodSpec`. */
  name: string;
  /** Go type name used in decode errors, `PodSpec`. */
  goName: string;
  goType: string;
  fields: Map<string, Node>;
  /** `+structType=atomic`: replaced as a whole by server-side apply. */
  atomic: boolean;
  /** JSON field → name of the embedded Go struct it is promoted from (`VolumeSource`). */
  inline: Map<string, string>;
}

export interface ListNode {
  kind: 'list';
  items: Node;
  goType: string;
  /** `x-kubernetes-list-type`; lists without one are atomic. */
  listType: 'atomic' | 'set' | 'map';
  /** `x-kubernetes-list-map-keys` of a `map` list. */
  mapKeys: string[];
  /** `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys` or undefined (replace). */
  patchStrategy: string | undefined;
  patchMergeKey: string | undefined;
}

export interface MapNode {
  kind: 'map';
  values: Node;
  goType: string;
  /** `x-kubernetes-map-type: atomic`. */
  atomic: boolean;
  patchStrategy: string | undefined;
}

/** Structs whose Go type embeds another struct inline (the name shows up in decode errors). */
const INLINE: Record<string, { go: string; fields?: string[]; except?: string[] }> = {
  'io.k8s.api.core.v1.Volume': { go: 'VolumeSource', except: ['name'] },
  'io.k8s.api.core.v1.Probe': { go: 'ProbeHandler', fields: ['exec', 'httpGet', 'tcpSocket', 'grpc'] },
  'io.k8s.api.core.v1.EphemeralContainer': { go: 'EphemeralContainerCommon', except: ['targetContainerName'] },
  'io.k8s.api.core.v1.SecretProjection': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.ConfigMapProjection': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.ConfigMapVolumeSource': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.ConfigMapKeySelector': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.SecretKeySelector': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.ConfigMapEnvSource': { go: 'LocalObjectReference', fields: ['name'] },
  'io.k8s.api.core.v1.SecretEnvSource': { go: 'LocalObjectReference', fields: ['name'] },
};

const cache = new Map<string, Node>();

/** The compiled node of a definition (`io.k8s.api.core.v1.Pod`). */
export function compileSchema(name: string): Node {
  const cached = cache.get(name);
  if (cached) return cached;
  const schema = schemas[name];
  if (!schema) throw new TypeError(`no schema named ${name}`);
  const goType = goTypeName(name);
  const special = specialNode(name, goType);
  if (special) {
    cache.set(name, special);
    return special;
  }
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (schema.type !== 'object' || !props) {
    const node: Node = { kind: 'opaque', goType };
    cache.set(name, node);
    return node;
  }
  const node: StructNode = {
    kind: 'struct',
    name,
    goName: goType.slice(goType.indexOf('.') + 1),
    goType,
    fields: new Map(),
    atomic: schema['x-kubernetes-map-type'] === 'atomic',
    inline: new Map(),
  };
  cache.set(name, node); // before the fields: recursive types reach themselves
  for (const [field, prop] of Object.entries(props)) node.fields.set(field, compileProperty(prop));
  const inline = INLINE[name];
  if (inline) {
    for (const field of node.fields.keys()) {
      const promoted = inline.fields ? inline.fields.includes(field) : !inline.except?.includes(field);
      if (promoted) node.inline.set(field, inline.go);
    }
  }
  if (Array.isArray(schema['x-kubernetes-group-version-kind']) && node.fields.has('kind')) {
    node.inline.set('apiVersion', 'TypeMeta');
    node.inline.set('kind', 'TypeMeta');
  }
  return node;
}

/** The compiled node of a served kind, or undefined if the kind has no schema. */
export function compileKind(gvk: GroupVersionKind): StructNode | undefined {
  const name = schemaNameForGvk(gvk);
  if (!name) return undefined;
  const node = compileSchema(name);
  return node.kind === 'struct' ? node : undefined;
}

function compileProperty(prop: JsonSchema): Node {
  if (typeof prop.$ref === 'string') return compileSchema(refName(prop.$ref));
  switch (prop.type) {
    case 'string':
      return prop.format === 'byte' ? { kind: 'bytes', goType: '[]uint8' } : { kind: 'string', goType: 'string' };
    case 'integer':
      return prop.format === 'int64' ? { kind: 'int64', goType: 'int64' } : { kind: 'int32', goType: 'int32' };
    case 'number':
      return { kind: 'float', goType: 'float64' };
    case 'boolean':
      return { kind: 'bool', goType: 'bool' };
    case 'array': {
      const items = compileProperty(prop.items as JsonSchema);
      const listType = (prop['x-kubernetes-list-type'] as ListNode['listType'] | undefined) ?? 'atomic';
      return {
        kind: 'list',
        items,
        goType: `[]${items.goType}`,
        listType,
        mapKeys: (prop['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [],
        patchStrategy: prop['x-kubernetes-patch-strategy'] as string | undefined,
        patchMergeKey: prop['x-kubernetes-patch-merge-key'] as string | undefined,
      };
    }
    case 'object': {
      const values = compileProperty((prop.additionalProperties as JsonSchema | undefined) ?? {});
      return {
        kind: 'map',
        values,
        // every map of quantities in the API is a core/v1 ResourceList
        goType: values.kind === 'quantity' ? 'v1.ResourceList' : `map[string]${values.goType}`,
        atomic: prop['x-kubernetes-map-type'] === 'atomic',
        patchStrategy: prop['x-kubernetes-patch-strategy'] as string | undefined,
      };
    }
    default:
      return { kind: 'opaque', goType: 'interface {}' };
  }
}

function specialNode(name: string, goType: string): Node | undefined {
  switch (name) {
    case 'io.k8s.apimachinery.pkg.apis.meta.v1.Time':
      return { kind: 'time', micro: false, goType };
    case 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime':
      return { kind: 'time', micro: true, goType };
    case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
      return { kind: 'quantity', goType };
    case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
      return { kind: 'intOrString', goType };
    default:
      return undefined;
  }
}

/** `io.k8s.api.core.v1.PodSpec` → `v1.PodSpec` (Go's package-qualified type name). */
function goTypeName(name: string): string {
  const parts = name.split('.');
  return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
}
