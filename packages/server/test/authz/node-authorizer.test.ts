import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '@boundtoken/api';
import { bootstrapPolicy, createAuthorizer, createNodeAuthorizer, forbiddenError, nodeIdentity } from '../../src/authz/index.js';
import type { AuthorizationAttributes } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import { kube, nodeUser, nonRes, rbacCaches, res, user } from './fixtures.js';

function pod(namespace: string, name: string, nodeName: string | undefined, spec: Partial<NonNullable<Pod['spec']>> = {}, annotations?: Record<string, string>) {
  return kube<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}), ...spec },
  });
}

const n1 = nodeUser('n1');
const n2 = nodeUser('n2');

/** A pod on n1 referencing a secret, configmaps and a service account the usual ways; one on n2. */
function setup() {
  const pods = memoryCache([
    pod('default', 'web', 'n1', {
      serviceAccountName: 'web-sa',
      imagePullSecrets: [{ name: 'pull' }],
      containers: [
        {
          name: 'c',
          image: 'i',
          env: [
            { name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } },
          ],
          envFrom: [{ configMapRef: { name: 'envfrom-cm' } }],
        },
      ],
      initContainers: [{ name: 'init', image: 'i', envFrom: [{ secretRef: { name: 'init-secret' } }] }],
      volumes: [
        {
          name: 'kube-api-access-abcde',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { secret: { name: 'projected-secret' } },
            ],
          },
        },
        { name: 'cm', configMap: { name: 'vol-cm' } },
        { name: 's', secret: { secretName: 'vol-secret' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      ],
    }),
    pod('default', 'db', 'n2', { serviceAccountName: 'db-sa', volumes: [{ name: 's', secret: { secretName: 'db-secret' } }] }),
    pod('default', 'pending', undefined, { serviceAccountName: 'pending-sa', volumes: [{ name: 's', secret: { secretName: 'pending-secret' } }] }),
  ]);
  return { pods, authz: createNodeAuthorizer({ pods }) };
}

const get = (u = n1, resource: string, name: string, namespace = 'default', group = ''): AuthorizationAttributes =>
  res(u, 'get', resource, { namespace, name, group });

describe('Node authorizer: objects reached through pods', () => {
  const { authz } = setup();
  const cases: Array<{ name: string; attrs: AuthorizationAttributes; allowed: boolean; reason?: string }> = [
    { name: 'own pod secret volume', attrs: get(n1, 'secrets', 'vol-secret'), allowed: true },
    { name: 'own pod projected secret', attrs: get(n1, 'secrets', 'projected-secret'), allowed: true },
    { name: 'own pod image pull secret', attrs: get(n1, 'secrets', 'pull'), allowed: true },
    { name: 'own pod env secret', attrs: get(n1, 'secrets', 'env-secret'), allowed: true },
    { name: 'own pod init container envFrom secret', attrs: get(n1, 'secrets', 'init-secret'), allowed: true },
    { name: 'own pod configmap volume', attrs: get(n1, 'configmaps', 'vol-cm'), allowed: true },
    { name: 'own pod kube-root-ca.crt (projected)', attrs: get(n1, 'configmaps', 'kube-root-ca.crt'), allowed: true },
    { name: 'own pod env configmap', attrs: get(n1, 'configmaps', 'env-cm'), allowed: true },
    { name: 'own pod envFrom configmap', attrs: get(n1, 'configmaps', 'envfrom-cm'), allowed: true },
    { name: 'own pod pvc', attrs: get(n1, 'persistentvolumeclaims', 'data'), allowed: true },
    {
      name: "another node's pod secret",
      attrs: get(n1, 'secrets', 'db-secret'),
      allowed: false,
      reason: "no relationship found between node 'n1' and this object",
    },
    { name: 'node B reads its own pod secret', attrs: get(n2, 'secrets', 'db-secret'), allowed: true },
    { name: "node B cannot read node A's secret", attrs: get(n2, 'secrets', 'vol-secret'), allowed: false },
    { name: 'unscheduled pod secret', attrs: get(n1, 'secrets', 'pending-secret'), allowed: false },
    { name: 'same name in another namespace', attrs: get(n1, 'secrets', 'vol-secret', 'other'), allowed: false },
    { name: 'unreferenced secret', attrs: get(n1, 'secrets', 'random'), allowed: false },
    { name: 'list secrets with a name (fieldSelector metadata.name)', attrs: res(n1, 'list', 'secrets', { namespace: 'default', name: 'vol-secret' }), allowed: true },
    { name: 'watch configmap with a name', attrs: res(n1, 'watch', 'configmaps', { namespace: 'default', name: 'kube-root-ca.crt' }), allowed: true },
    { name: 'list secrets without a name', attrs: res(n1, 'list', 'secrets', { namespace: 'default' }), allowed: false, reason: 'No Object name found' },
    { name: 'list secrets across namespaces', attrs: res(n1, 'list', 'secrets', { name: 'vol-secret' }), allowed: false, reason: 'can only read namespaced object of this type' },
    { name: 'update a referenced secret', attrs: res(n1, 'update', 'secrets', { namespace: 'default', name: 'vol-secret' }), allowed: false, reason: 'can only read resources of this type' },
    { name: 'pvc list is not allowed', attrs: res(n1, 'list', 'persistentvolumeclaims', { namespace: 'default', name: 'data' }), allowed: false, reason: 'can only get individual resources of this type' },
    { name: 'pv not known', attrs: get(n1, 'persistentvolumes', 'pv1', ''), allowed: false },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const d = authz.authorize(tc.attrs);
      assert.equal(d.decision, tc.allowed ? 'allow' : 'noOpinion');
      if (tc.reason !== undefined) assert.equal(d.reason, tc.reason);
    });
  }
});

describe('Node authorizer: pods, nodes, tokens, leases, static rules', () => {
  const { authz } = setup();
  const sel = (key: string, value: string, operator: '=' | '!=' = '=') => [{ key, operator, values: [value] }];
  const cases: Array<{ name: string; attrs: AuthorizationAttributes; allowed: boolean; reason?: string }> = [
    { name: 'get own pod', attrs: get(n1, 'pods', 'web'), allowed: true },
    { name: "get another node's pod", attrs: get(n1, 'pods', 'db'), allowed: false, reason: "no relationship found between node 'n1' and this object" },
    { name: 'list pods with spec.nodeName=self', attrs: res(n1, 'list', 'pods', { fieldSelector: sel('spec.nodeName', 'n1') }), allowed: true },
    { name: 'watch pods with spec.nodeName=self among other terms', attrs: res(n1, 'watch', 'pods', { fieldSelector: [...sel('status.phase', 'Running'), ...sel('spec.nodeName', 'n1')] }), allowed: true },
    { name: 'list pods with spec.nodeName=other', attrs: res(n1, 'list', 'pods', { fieldSelector: sel('spec.nodeName', 'n2') }), allowed: false, reason: 'can only list/watch pods with spec.nodeName field selector' },
    { name: 'list pods with spec.nodeName!=self', attrs: res(n1, 'list', 'pods', { fieldSelector: sel('spec.nodeName', 'n1', '!=') }), allowed: false },
    { name: 'list all pods', attrs: res(n1, 'list', 'pods'), allowed: false, reason: 'can only list/watch pods with spec.nodeName field selector' },
    { name: 'list one own pod by name', attrs: res(n1, 'list', 'pods', { namespace: 'default', name: 'web' }), allowed: true },
    { name: "list another node's pod by name", attrs: res(n1, 'list', 'pods', { namespace: 'default', name: 'db' }), allowed: false },
    { name: 'create a (mirror) pod', attrs: res(n1, 'create', 'pods', { namespace: 'default' }), allowed: true },
    { name: 'delete a pod', attrs: res(n1, 'delete', 'pods', { namespace: 'default', name: 'web' }), allowed: true },
    { name: 'update a pod', attrs: res(n1, 'update', 'pods', { namespace: 'default', name: 'web' }), allowed: false },
    { name: 'patch pod status', attrs: res(n1, 'patch', 'pods/status', { namespace: 'default', name: 'web' }), allowed: true },
    { name: 'get pod status', attrs: res(n1, 'get', 'pods/status', { namespace: 'default', name: 'web' }), allowed: false },
    { name: 'create pod eviction', attrs: res(n1, 'create', 'pods/eviction', { namespace: 'default', name: 'web' }), allowed: true },
    { name: 'get own node', attrs: get(n1, 'nodes', 'n1', ''), allowed: true },
    { name: 'get another node', attrs: get(n1, 'nodes', 'n2', ''), allowed: false, reason: "node 'n1' cannot read 'n2', only its own Node object" },
    { name: 'list all nodes', attrs: res(n1, 'list', 'nodes'), allowed: false, reason: "node 'n1' cannot read all nodes, only its own Node object" },
    { name: 'watch own node by name', attrs: res(n1, 'watch', 'nodes', { name: 'n1' }), allowed: true },
    { name: 'create node', attrs: res(n1, 'create', 'nodes'), allowed: true },
    { name: 'patch node status', attrs: res(n1, 'patch', 'nodes/status', { name: 'n1' }), allowed: true },
    { name: 'delete node', attrs: res(n1, 'delete', 'nodes', { name: 'n1' }), allowed: false },
    { name: 'token for own pod service account', attrs: res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'web-sa' }), allowed: true },
    { name: "token for another node's pod service account", attrs: res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'db-sa' }), allowed: false, reason: "no relationship found between node 'n1' and this object" },
    { name: 'token for an unrelated service account', attrs: res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'default' }), allowed: false },
    { name: 'get service account (not granted in 1.32)', attrs: get(n1, 'serviceaccounts', 'web-sa'), allowed: false, reason: 'can only create tokens for individual service accounts' },
    { name: 'create service account', attrs: res(n1, 'create', 'serviceaccounts', { namespace: 'default', name: 'web-sa' }), allowed: false, reason: 'can only create token subresource of serviceaccount' },
    { name: 'own lease', attrs: res(n1, 'update', 'leases', { namespace: 'kube-node-lease', name: 'n1', group: 'coordination.k8s.io' }), allowed: true },
    { name: 'create lease (name checked by NodeRestriction)', attrs: res(n1, 'create', 'leases', { namespace: 'kube-node-lease', group: 'coordination.k8s.io' }), allowed: true },
    { name: 'another node lease', attrs: res(n1, 'get', 'leases', { namespace: 'kube-node-lease', name: 'n2', group: 'coordination.k8s.io' }), allowed: false, reason: 'can only access node lease with the same name as the requesting node' },
    { name: 'lease elsewhere', attrs: res(n1, 'get', 'leases', { namespace: 'default', name: 'n1', group: 'coordination.k8s.io' }), allowed: false, reason: 'can only access leases in the "kube-node-lease" system namespace' },
    { name: 'list leases', attrs: res(n1, 'list', 'leases', { namespace: 'kube-node-lease', group: 'coordination.k8s.io' }), allowed: false },
    { name: 'create events (static rules)', attrs: res(n1, 'create', 'events', { namespace: 'default' }), allowed: true },
    { name: 'create tokenreviews (static rules)', attrs: res(n1, 'create', 'tokenreviews', { group: 'authentication.k8s.io' }), allowed: true },
    { name: 'list services (static rules)', attrs: res(n1, 'list', 'services'), allowed: true },
    { name: 'delete services', attrs: res(n1, 'delete', 'services', { namespace: 'default', name: 'x' }), allowed: false },
    { name: 'read a path', attrs: nonRes(n1, 'get', '/healthz'), allowed: false },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const d = authz.authorize(tc.attrs);
      assert.equal(d.decision, tc.allowed ? 'allow' : 'noOpinion');
      if (tc.reason !== undefined) assert.equal(d.reason, tc.reason);
    });
  }
});

describe('Node authorizer: identity', () => {
  test('only system:node:<name> in system:nodes is a node', () => {
    assert.deepEqual(nodeIdentity(nodeUser('n1')), { isNode: true, nodeName: 'n1' });
    assert.deepEqual(nodeIdentity(user('system:node:n1')), { isNode: false, nodeName: '' });
    assert.deepEqual(nodeIdentity(user('n1', ['system:nodes'])), { isNode: false, nodeName: '' });
    assert.deepEqual(nodeIdentity(user('system:node:', ['system:nodes'])), { isNode: true, nodeName: '' });
  });

  test('non-nodes get no opinion; a nameless node gets a reason', () => {
    const { authz } = setup();
    assert.deepEqual(authz.authorize(get(user('system:node:n1'), 'secrets', 'vol-secret')), { decision: 'noOpinion', reason: '' });
    assert.deepEqual(authz.authorize(get(user('system:node:', ['system:nodes']), 'secrets', 'vol-secret')), {
      decision: 'noOpinion',
      reason: 'unknown node for user "system:node:"',
    });
  });

  test('rulesFor: nodes are incomplete, others empty', () => {
    const { authz } = setup();
    assert.deepEqual(authz.rulesFor(n1, 'default'), {
      resourceRules: [],
      nonResourceRules: [],
      incomplete: true,
      evaluationError: 'node authorizer does not support user rule resolution',
    });
    assert.equal(authz.rulesFor(user('alice'), 'default').incomplete, false);
  });
});

describe('Node authorizer: follows pod changes', () => {
  test('scheduling, rescheduling, deletion and mirror pods', () => {
    const { pods, authz } = setup();
    const pendingSecret = get(n1, 'secrets', 'pending-secret');
    assert.equal(authz.authorize(pendingSecret).decision, 'noOpinion');

    pods.put(pod('default', 'pending', 'n1', { serviceAccountName: 'pending-sa', volumes: [{ name: 's', secret: { secretName: 'pending-secret' } }] }));
    assert.equal(authz.authorize(pendingSecret).decision, 'allow');
    assert.equal(authz.authorize(res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'pending-sa' })).decision, 'allow');

    pods.remove('default', 'pending');
    assert.equal(authz.authorize(pendingSecret).decision, 'noOpinion');
    assert.equal(authz.authorize(res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'pending-sa' })).decision, 'noOpinion');

    // A secret referenced by two pods on n1 stays readable until both are gone.
    pods.put(pod('default', 'p1', 'n1', { volumes: [{ name: 's', secret: { secretName: 'shared' } }] }));
    pods.put(pod('default', 'p2', 'n1', { volumes: [{ name: 's', secret: { secretName: 'shared' } }] }));
    pods.remove('default', 'p1');
    assert.equal(authz.authorize(get(n1, 'secrets', 'shared')).decision, 'allow');
    pods.put(pod('default', 'p2', 'n1', { volumes: [] }));
    assert.equal(authz.authorize(get(n1, 'secrets', 'shared')).decision, 'noOpinion');

    // Mirror pods link only themselves.
    pods.put(pod('default', 'static', 'n1', { serviceAccountName: 'm-sa', volumes: [{ name: 's', secret: { secretName: 'm-secret' } }] }, { 'kubernetes.io/config.mirror': 'hash' }));
    assert.equal(authz.authorize(get(n1, 'pods', 'static')).decision, 'allow');
    assert.equal(authz.authorize(get(n1, 'secrets', 'm-secret')).decision, 'noOpinion');
    assert.equal(authz.authorize(res(n1, 'create', 'serviceaccounts/token', { namespace: 'default', name: 'm-sa' })).decision, 'noOpinion');

    const before = authz.graph.size;
    authz.close();
    assert.equal(pods.subscribers, 0);
    pods.put(pod('default', 'late', 'n1', { volumes: [{ name: 's', secret: { secretName: 'late' } }] }));
    assert.equal(authz.graph.size, before);
  });
});

describe('Node + RBAC chain', () => {
  test("a node's certificate cannot read another node's pods: 403 message", () => {
    const policy = bootstrapPolicy();
    const { pods, authz: standalone } = setup();
    standalone.close();
    const chain = createAuthorizer({ modes: ['Node', 'RBAC'], caches: { ...rbacCaches(policy), pods } });
    const attrs = get(n1, 'pods', 'db');
    const d = chain.authorize(attrs);
    assert.equal(d.decision, 'noOpinion');
    const err = forbiddenError(attrs, d.reason);
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(
      err.message,
      'pods "db" is forbidden: User "system:node:n1" cannot get resource "pods" in API group "" in the namespace "default": ' +
        "no relationship found between node 'n1' and this object",
    );
    assert.equal(chain.authorize(get(n1, 'pods', 'web')).decision, 'allow');
    assert.equal(chain.rulesFor(n1, 'default').incomplete, true);
    chain.close();
    assert.equal(pods.subscribers, 0);
  });
});
