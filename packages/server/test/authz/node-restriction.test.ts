import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, Node, Pod } from '@boundtoken/api';
import { isStatusError } from '@boundtoken/api';
import { createNodeRestriction } from '../../src/authz/index.js';
import type { AuthorizationAttributes } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import { kube, nodeUser, res, user } from './fixtures.js';

const pods = memoryCache([
  kube<Pod>({ metadata: { namespace: 'default', name: 'web', uid: 'web-uid' }, spec: { nodeName: 'n1', serviceAccountName: 'web-sa', containers: [] } }),
  kube<Pod>({ metadata: { namespace: 'default', name: 'db', uid: 'db-uid' }, spec: { nodeName: 'n2', serviceAccountName: 'db-sa', containers: [] } }),
]);
const nodes = memoryCache([kube<Node>({ metadata: { name: 'n1', uid: 'n1-uid' } })]);
const lookup = { pods, nodes };
const plugin = createNodeRestriction();
const n1 = nodeUser('n1');

function admit(attrs: AuthorizationAttributes, obj?: object, old?: object): { code: number; message: string } | 'ok' {
  try {
    plugin.admit(attrs, obj as KubeObject | undefined, old as KubeObject | undefined, lookup);
    return 'ok';
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return { code: err.code, message: err.message };
  }
}

const tokenAttrs = (name: string, u = n1) => res(u, 'create', 'serviceaccounts/token', { namespace: 'default', name });
const tokenRequest = (ref?: Record<string, unknown>) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  metadata: { name: 'web-sa', namespace: 'default' },
  spec: { audiences: ['api'], ...(ref ? { boundObjectRef: ref } : {}) },
});
const forbid = (resource: string, name: string, why: string) => ({ code: 403, message: `${resource} "${name}" is forbidden: ${why}` });

describe('NodeRestriction: token requests', () => {
  const cases: Array<{ name: string; attrs: AuthorizationAttributes; obj: object; want: ReturnType<typeof admit> }> = [
    { name: 'bound to its own pod', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'web-uid' }), want: 'ok' },
    { name: 'not bound', attrs: tokenAttrs('web-sa'), obj: tokenRequest(), want: forbid('serviceaccounts', 'web-sa', 'node requested token not bound to a pod') },
    { name: 'bound to a secret', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Secret', name: 's', uid: 'x' }), want: forbid('serviceaccounts', 'web-sa', 'node requested token not bound to a pod') },
    { name: 'bound to a node', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'n1-uid' }), want: forbid('serviceaccounts', 'web-sa', 'node requested token not bound to a pod') },
    { name: 'wrong apiVersion', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v2', kind: 'Pod', name: 'web', uid: 'web-uid' }), want: forbid('serviceaccounts', 'web-sa', 'node requested token not bound to a pod') },
    { name: 'without uid', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'web' }), want: forbid('serviceaccounts', 'web-sa', 'node requested token with a pod binding without a uid') },
    {
      name: 'stale uid',
      attrs: tokenAttrs('web-sa'),
      obj: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'old' }),
      want: forbid('serviceaccounts', 'web-sa', 'the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated'),
    },
    { name: 'pod on another node', attrs: tokenAttrs('db-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'db', uid: 'db-uid' }), want: forbid('serviceaccounts', 'db-sa', 'node requested token bound to a pod scheduled on a different node') },
    { name: 'missing pod', attrs: tokenAttrs('web-sa'), obj: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'gone', uid: 'x' }), want: { code: 404, message: 'pod "gone" not found' } },
    { name: 'not a node: not restricted', attrs: tokenAttrs('web-sa', user('alice')), obj: tokenRequest(), want: 'ok' },
  ];
  for (const tc of cases) test(tc.name, () => assert.deepEqual(admit(tc.attrs, tc.obj), tc.want));

  test('other service account writes are not restricted here', () => {
    assert.equal(admit(res(n1, 'update', 'serviceaccounts', { namespace: 'default', name: 'web-sa' }), {}), 'ok');
  });
});

describe('NodeRestriction: pods', () => {
  const mirror = (over: { metadata?: Pod['metadata']; spec?: Partial<NonNullable<Pod['spec']>> } = {}): Pod => ({
    metadata: {
      name: 'static-n1',
      namespace: 'kube-system',
      annotations: { 'kubernetes.io/config.mirror': 'abc' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'n1-uid', controller: true }],
      ...over.metadata,
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }], ...over.spec },
  });
  const create = res(n1, 'create', 'pods', { namespace: 'kube-system' });
  const cases: Array<{ name: string; attrs: AuthorizationAttributes; obj?: object; old?: object; want: ReturnType<typeof admit> }> = [
    { name: 'mirror pod', attrs: create, obj: mirror(), want: 'ok' },
    { name: 'not a mirror pod', attrs: create, obj: { ...mirror(), metadata: { name: 'p' } }, want: forbid('pods', 'p', 'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods') },
    { name: 'bound elsewhere', attrs: create, obj: mirror({ spec: { nodeName: 'n2' } }), want: forbid('pods', 'static-n1', 'node "n1" can only create pods with spec.nodeName set to itself') },
    { name: 'no owner', attrs: create, obj: mirror({ metadata: { ownerReferences: [] } }), want: forbid('pods', 'static-n1', 'node "n1" can only create pods with an owner reference set to itself') },
    {
      name: 'not a controller owner',
      attrs: create,
      obj: mirror({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'n1-uid' }] } }),
      want: forbid('pods', 'static-n1', 'node "n1" can only create pods with a controller owner reference set to itself'),
    },
    {
      name: 'owner uid mismatch',
      attrs: create,
      obj: mirror({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'other', controller: true }] } }),
      want: forbid('pods', 'static-n1', 'node n1 UID mismatch: expected other got n1-uid'),
    },
    { name: 'references a service account', attrs: create, obj: mirror({ spec: { serviceAccountName: 'default' } }), want: forbid('pods', 'static-n1', 'node "n1" can not create pods that reference a service account') },
    { name: 'references a secret', attrs: create, obj: mirror({ spec: { volumes: [{ name: 'v', secret: { secretName: 's' } }] } }), want: forbid('pods', 'static-n1', 'node "n1" can not create pods that reference secrets') },
    {
      name: 'references a configmap',
      attrs: create,
      obj: mirror({ spec: { volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'c' } }] } }] } }),
      want: forbid('pods', 'static-n1', 'node "n1" can not create pods that reference configmaps'),
    },
    { name: 'references a pvc', attrs: create, obj: mirror({ spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] } }), want: forbid('pods', 'static-n1', 'node "n1" can not create pods that reference persistentvolumeclaims') },
    { name: 'delete own pod', attrs: res(n1, 'delete', 'pods', { namespace: 'default', name: 'web' }), want: 'ok' },
    { name: "delete another node's pod", attrs: res(n1, 'delete', 'pods', { namespace: 'default', name: 'db' }), want: forbid('pods', 'db', 'node "n1" can only delete pods with spec.nodeName set to itself') },
    { name: 'delete a missing pod', attrs: res(n1, 'delete', 'pods', { namespace: 'default', name: 'gone' }), want: { code: 404, message: 'pod "gone" not found' } },
    { name: 'update a pod', attrs: res(n1, 'update', 'pods', { namespace: 'default', name: 'web' }), obj: {}, want: forbid('pods', 'web', 'unexpected operation "UPDATE", node "n1" can only create and delete mirror pods') },
    {
      name: 'update own pod status',
      attrs: res(n1, 'update', 'pods/status', { namespace: 'default', name: 'web' }),
      obj: { metadata: { name: 'web', labels: { a: '1' } }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } },
      old: { metadata: { name: 'web', labels: { a: '1' } }, spec: { nodeName: 'n1' } },
      want: 'ok',
    },
    {
      name: "update another node's pod status",
      attrs: res(n1, 'patch', 'pods/status', { namespace: 'default', name: 'db' }),
      obj: { metadata: { name: 'db' }, spec: { nodeName: 'n2' } },
      old: { metadata: { name: 'db' }, spec: { nodeName: 'n2' } },
      want: forbid('pods', 'db', 'node "n1" can only update pod status for pods with spec.nodeName set to itself'),
    },
    {
      name: 'relabel through pod status',
      attrs: res(n1, 'update', 'pods/status', { namespace: 'default', name: 'web' }),
      obj: { metadata: { name: 'web', labels: { a: '2' } }, spec: { nodeName: 'n1' } },
      old: { metadata: { name: 'web', labels: { a: '1' } }, spec: { nodeName: 'n1' } },
      want: forbid('pods', 'web', 'node "n1" cannot update labels through pod status'),
    },
    { name: 'evict own pod', attrs: res(n1, 'create', 'pods/eviction', { namespace: 'default', name: 'web' }), obj: { metadata: { name: 'web' } }, want: 'ok' },
    { name: "evict another node's pod", attrs: res(n1, 'create', 'pods/eviction', { namespace: 'default', name: 'db' }), obj: { metadata: { name: 'db' } }, want: forbid('pods', 'db', 'node n1 can only evict pods with spec.nodeName set to itself') },
    { name: 'other pod subresource', attrs: res(n1, 'create', 'pods/binding', { namespace: 'default', name: 'web' }), obj: {}, want: forbid('pods', 'web', `unexpected pod subresource "binding", only 'status' and 'eviction' are allowed`) },
  ];
  for (const tc of cases) test(tc.name, () => assert.deepEqual(admit(tc.attrs, tc.obj, tc.old), tc.want));
});

describe('NodeRestriction: nodes, leases, pvcs', () => {
  const node = (name: string, labels: Record<string, string> = {}, taints?: unknown[]) => ({ metadata: { name, labels }, spec: taints ? { taints } : {} });
  const cases: Array<{ name: string; attrs: AuthorizationAttributes; obj?: object; old?: object; want: ReturnType<typeof admit> }> = [
    { name: 'register itself', attrs: res(n1, 'create', 'nodes'), obj: node('n1', { 'kubernetes.io/hostname': 'n1', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }), want: 'ok' },
    { name: 'register another node', attrs: res(n1, 'create', 'nodes'), obj: node('n2'), want: forbid('nodes', 'n2', 'node "n1" is not allowed to modify node "n2"') },
    {
      name: 'register with restricted labels',
      attrs: res(n1, 'create', 'nodes'),
      obj: node('n1', { 'node-restriction.kubernetes.io/pool': 'secure', 'example.k8s.io/x': '1', 'team.example.com/x': '1' }),
      want: forbid('nodes', 'n1', 'node "n1" is not allowed to set the following labels: example.k8s.io/x, node-restriction.kubernetes.io/pool'),
    },
    { name: 'update own status', attrs: res(n1, 'patch', 'nodes/status', { name: 'n1' }), obj: node('n1', { a: '1' }), old: node('n1', { a: '1' }), want: 'ok' },
    { name: "update another node's status", attrs: res(n1, 'patch', 'nodes/status', { name: 'n2' }), obj: node('n2'), old: node('n2'), want: forbid('nodes', 'n2', 'node "n1" is not allowed to modify node "n2"') },
    { name: 'remove own taints', attrs: res(n1, 'update', 'nodes', { name: 'n1' }), obj: node('n1'), old: node('n1', {}, [{ key: 'k', effect: 'NoSchedule' }]), want: forbid('nodes', 'n1', 'node "n1" is not allowed to modify taints') },
    {
      name: 'change a restricted label',
      attrs: res(n1, 'update', 'nodes', { name: 'n1' }),
      obj: node('n1', { 'node-role.kubernetes.io/control-plane': '' }),
      old: node('n1'),
      want: forbid('nodes', 'n1', 'is not allowed to modify labels: node-role.kubernetes.io/control-plane'),
    },
    { name: 'delete another node', attrs: res(n1, 'delete', 'nodes', { name: 'n2' }), want: forbid('nodes', 'n2', 'node "n1" is not allowed to modify node "n2"') },
    { name: 'create own lease', attrs: res(n1, 'create', 'leases', { namespace: 'kube-node-lease', group: 'coordination.k8s.io' }), obj: { metadata: { name: 'n1' } }, want: 'ok' },
    {
      name: "create another node's lease",
      attrs: res(n1, 'create', 'leases', { namespace: 'kube-node-lease', group: 'coordination.k8s.io' }),
      obj: { metadata: { name: 'n2' } },
      want: forbid('leases.coordination.k8s.io', 'n2', 'can only access node lease with the same name as the requesting node'),
    },
    { name: 'update own lease', attrs: res(n1, 'update', 'leases', { namespace: 'kube-node-lease', name: 'n1', group: 'coordination.k8s.io' }), obj: {}, want: 'ok' },
    {
      name: 'lease outside kube-node-lease',
      attrs: res(n1, 'delete', 'leases', { namespace: 'default', name: 'n1', group: 'coordination.k8s.io' }),
      want: forbid('leases.coordination.k8s.io', 'n1', 'can only access leases in the "kube-node-lease" system namespace'),
    },
    { name: 'pvc write', attrs: res(n1, 'update', 'persistentvolumeclaims', { namespace: 'default', name: 'data' }), obj: {}, want: forbid('persistentvolumeclaims', 'data', 'may only update PVC status') },
    {
      name: 'pvc status capacity',
      attrs: res(n1, 'patch', 'persistentvolumeclaims/status', { namespace: 'default', name: 'data' }),
      obj: { metadata: { name: 'data', resourceVersion: '2' }, status: { phase: 'Bound', capacity: { storage: '2Gi' } } },
      old: { metadata: { name: 'data', resourceVersion: '1' }, status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
      want: 'ok',
    },
    {
      name: 'pvc status phase',
      attrs: res(n1, 'patch', 'persistentvolumeclaims/status', { namespace: 'default', name: 'data' }),
      obj: { metadata: { name: 'data' }, status: { phase: 'Lost' } },
      old: { metadata: { name: 'data' }, status: { phase: 'Bound' } },
      want: 'forbidden' as never,
    },
    { name: 'unrelated resources pass', attrs: res(n1, 'create', 'events', { namespace: 'default' }), obj: {}, want: 'ok' },
    { name: 'reads pass', attrs: res(n1, 'get', 'pods', { namespace: 'default', name: 'db' }), want: 'ok' },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const got = admit(tc.attrs, tc.obj, tc.old);
      if ((tc.want as unknown) === 'forbidden') {
        assert.notEqual(got, 'ok');
        assert.equal((got as { code: number }).code, 403);
      } else assert.deepEqual(got, tc.want);
    });
  }

  test('a node user without a name is refused', () => {
    assert.deepEqual(admit(res(user('system:node:', ['system:nodes']), 'create', 'events', { namespace: 'd' }), { metadata: { name: 'e' } }), forbid('events', 'e', 'could not determine node from user "system:node:"'));
  });
});
