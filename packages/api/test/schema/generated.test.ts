/**
 * The checked-in schemas are exactly what the generator produces from kubernetes-types and the
 * overlay, and the overlay's integer formats agree with @kubernetes/client-node's model metadata
 * (generated from the same Kubernetes OpenAPI), so an int64 cannot silently become an int32.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { schemas } from '@boundtoken/api/schema';
import { generateSchemas, OUTPUT, render } from '../../../../scripts/gen-schemas.ts';

test('schemas.generated.json is up to date (node --import tsx scripts/gen-schemas.ts)', () => {
  assert.equal(readFileSync(OUTPUT, 'utf8'), render(generateSchemas()));
});

test('every served kind and the meta types are present with their GVK', () => {
  const gvks = new Set<string>();
  for (const s of Object.values(schemas)) {
    for (const g of (s['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[]) ?? []) {
      gvks.add(`${g.group}/${g.version}/${g.kind}`);
    }
  }
  for (const kind of ['Namespace', 'ServiceAccount', 'Pod', 'Node', 'Secret', 'ConfigMap', 'Event']) {
    assert.ok(gvks.has(`/v1/${kind}`), kind);
    assert.ok(gvks.has(`/v1/${kind}List`), `${kind}List`);
  }
  for (const k of [
    '/v1/Binding',
    '/v1/Status',
    '/v1/DeleteOptions',
    '/v1/WatchEvent',
    '/v1/APIResourceList',
    'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    'rbac.authorization.k8s.io/v1/RoleList',
    'authentication.k8s.io/v1/TokenRequest',
    'authentication.k8s.io/v1/TokenReview',
    'authentication.k8s.io/v1/SelfSubjectReview',
    'authentication.k8s.io/v1beta1/SelfSubjectReview',
    'authorization.k8s.io/v1/SubjectAccessReview',
    'authorization.k8s.io/v1/SelfSubjectAccessReview',
    'authorization.k8s.io/v1/LocalSubjectAccessReview',
    'authorization.k8s.io/v1/SelfSubjectRulesReview',
    'coordination.k8s.io/v1/Lease',
    'coordination.k8s.io/v1/LeaseList',
  ]) {
    assert.ok(gvks.has(k), k);
  }
});

test('patch strategies and list types of the fields kubectl apply merges', () => {
  const prop = (type: string, field: string) =>
    (schemas[type]!.properties as Record<string, Record<string, unknown>>)[field]!;
  const cases: [string, string, Record<string, unknown>][] = [
    ['io.k8s.api.core.v1.PodSpec', 'containers', { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-list-type': 'map' }],
    ['io.k8s.api.core.v1.PodSpec', 'volumes', { 'x-kubernetes-patch-strategy': 'merge,retainKeys', 'x-kubernetes-patch-merge-key': 'name' }],
    ['io.k8s.api.core.v1.Container', 'ports', { 'x-kubernetes-list-map-keys': ['containerPort', 'protocol'] }],
    ['io.k8s.api.core.v1.Container', 'volumeMounts', { 'x-kubernetes-patch-merge-key': 'mountPath' }],
    ['io.k8s.api.core.v1.Container', 'args', { 'x-kubernetes-list-type': 'atomic' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'finalizers', { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'ownerReferences', { 'x-kubernetes-patch-merge-key': 'uid' }],
    ['io.k8s.api.core.v1.PodSpec', 'nodeSelector', { 'x-kubernetes-map-type': 'atomic' }],
    ['io.k8s.api.core.v1.ServiceAccount', 'secrets', { 'x-kubernetes-patch-merge-key': 'name' }],
    ['io.k8s.api.rbac.v1.ClusterRole', 'rules', { 'x-kubernetes-list-type': 'atomic' }],
  ];
  for (const [type, field, want] of cases) {
    const got = prop(type, field);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${type}.${field} ${k}`);
  }
  assert.equal(schemas['io.k8s.api.core.v1.ObjectReference']!['x-kubernetes-map-type'], 'atomic');
  assert.deepEqual(prop('io.k8s.api.core.v1.Secret', 'data').additionalProperties, { format: 'byte', type: 'string' });
});

/** @kubernetes/client-node's class for a definition name, e.g. V1PodSpec, AuthenticationV1TokenRequest. */
function clientClass(name: string): { getAttributeTypeMap(): { baseName: string; format: string }[] } | undefined {
  const parts = name.split('.');
  const kind = parts.pop()!;
  const version = parts.pop()!;
  const group = parts.pop()!;
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const all = k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; format: string }[] }>;
  for (const candidate of [`${cap(version)}${kind}`, `${cap(group)}${cap(version)}${kind}`, `Core${cap(version)}${kind}`]) {
    const cls = all[candidate];
    if (cls?.getAttributeTypeMap) return cls as { getAttributeTypeMap(): { baseName: string; format: string }[] };
  }
  return undefined;
}

test('integer formats agree with @kubernetes/client-node', () => {
  let compared = 0;
  for (const [name, schema] of Object.entries(schemas)) {
    const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
    const cls = props && clientClass(name);
    if (!cls) continue;
    const attrs = cls.getAttributeTypeMap();
    for (const [field, prop] of Object.entries(props)) {
      const attr = attrs.find((a) => a.baseName === field);
      if (!attr) continue;
      const ours = prop.type === 'integer' ? prop.format : prop.type === 'array' && (prop.items as Record<string, unknown>).type === 'integer' ? (prop.items as Record<string, unknown>).format : undefined;
      if (ours === undefined) continue;
      compared++;
      assert.equal(ours, attr.format, `${name}.${field}`);
    }
  }
  assert.ok(compared > 40, `compared ${compared} integer fields`);
});
