import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import {
  aggregateAll,
  bootstrapPolicy,
  createAuthorizer,
  nodeRules,
  UNAUTHENTICATED_ISSUER_DISCOVERY_BINDING,
} from '../../src/authz/index.js';
import type { AuthorizationAttributes, UserInfo } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import { Group, SA, User, anonymous, clusterRoleBinding, nonRes, nodeUser, rbacCaches, res, roleBinding, saUser, user } from './fixtures.js';

/** The bootstrap policy as a running server holds it: aggregation settled, plus extra bindings. */
function cluster(extra: { clusterRoleBindings?: KubeObject[]; roleBindings?: KubeObject[] } = {}, options = {}) {
  const policy = bootstrapPolicy(options);
  const caches = rbacCaches({
    clusterRoles: aggregateAll(policy.clusterRoles),
    clusterRoleBindings: policy.clusterRoleBindings,
    roles: policy.roles,
    roleBindings: policy.roleBindings,
  });
  for (const b of extra.clusterRoleBindings ?? []) caches.clusterRoleBindings.put(b);
  for (const b of extra.roleBindings ?? []) caches.roleBindings.put(b);
  return createAuthorizer({ modes: ['Node', 'RBAC'], caches: { ...caches, pods: memoryCache() } });
}

const viewer = user('vera');
const editor = user('ed');
const admin = user('ada');
const delegator = saUser('kube-system', 'metrics-server');
const namespaced = {
  roleBindings: [
    roleBinding('team', 'v', { kind: 'ClusterRole', name: 'view' }, [User('vera')]),
    roleBinding('team', 'e', { kind: 'ClusterRole', name: 'edit' }, [User('ed')]),
    roleBinding('team', 'a', { kind: 'ClusterRole', name: 'admin' }, [User('ada')]),
  ],
  clusterRoleBindings: [clusterRoleBinding('metrics-server:system:auth-delegator', 'system:auth-delegator', [SA('metrics-server', 'kube-system')])],
};

const questions: Array<{ q: string; who: UserInfo; attrs: (u: UserInfo) => AuthorizationAttributes; allowed: boolean }> = [
  { q: 'view can list pods', who: viewer, attrs: (u) => res(u, 'list', 'pods', { namespace: 'team' }), allowed: true },
  { q: 'view can get a service account', who: viewer, attrs: (u) => res(u, 'get', 'serviceaccounts', { namespace: 'team', name: 'default' }), allowed: true },
  { q: 'view cannot read secrets', who: viewer, attrs: (u) => res(u, 'get', 'secrets', { namespace: 'team', name: 's' }), allowed: false },
  { q: 'view cannot create pods', who: viewer, attrs: (u) => res(u, 'create', 'pods', { namespace: 'team' }), allowed: false },
  { q: 'view cannot mint tokens', who: viewer, attrs: (u) => res(u, 'create', 'serviceaccounts/token', { namespace: 'team', name: 'default' }), allowed: false },
  { q: 'view is confined to its namespace', who: viewer, attrs: (u) => res(u, 'list', 'pods', { namespace: 'other' }), allowed: false },
  { q: 'edit can read secrets', who: editor, attrs: (u) => res(u, 'get', 'secrets', { namespace: 'team', name: 's' }), allowed: true },
  { q: 'edit can create pods', who: editor, attrs: (u) => res(u, 'create', 'pods', { namespace: 'team' }), allowed: true },
  { q: 'edit can list pods (aggregated from view)', who: editor, attrs: (u) => res(u, 'list', 'pods', { namespace: 'team' }), allowed: true },
  { q: 'edit can mint tokens', who: editor, attrs: (u) => res(u, 'create', 'serviceaccounts/token', { namespace: 'team', name: 'default' }), allowed: true },
  { q: 'edit cannot create rolebindings', who: editor, attrs: (u) => res(u, 'create', 'rolebindings', { namespace: 'team', group: 'rbac.authorization.k8s.io' }), allowed: false },
  { q: 'admin can create rolebindings', who: admin, attrs: (u) => res(u, 'create', 'rolebindings', { namespace: 'team', group: 'rbac.authorization.k8s.io' }), allowed: true },
  { q: 'admin can read secrets (aggregated through edit)', who: admin, attrs: (u) => res(u, 'get', 'secrets', { namespace: 'team', name: 's' }), allowed: true },
  { q: 'admin cannot touch nodes', who: admin, attrs: (u) => res(u, 'get', 'nodes', { name: 'n1' }), allowed: false },
  { q: 'auth-delegator can create tokenreviews', who: delegator, attrs: (u) => res(u, 'create', 'tokenreviews', { group: 'authentication.k8s.io' }), allowed: true },
  { q: 'auth-delegator can create subjectaccessreviews', who: delegator, attrs: (u) => res(u, 'create', 'subjectaccessreviews', { group: 'authorization.k8s.io' }), allowed: true },
  { q: 'auth-delegator cannot mint tokens', who: delegator, attrs: (u) => res(u, 'create', 'serviceaccounts/token', { namespace: 'kube-system', name: 'x' }), allowed: false },
  { q: 'a plain service account cannot create tokenreviews', who: saUser('team', 'app'), attrs: (u) => res(u, 'create', 'tokenreviews', { group: 'authentication.k8s.io' }), allowed: false },
  { q: 'a plain service account cannot mint tokens', who: saUser('team', 'app'), attrs: (u) => res(u, 'create', 'serviceaccounts/token', { namespace: 'team', name: 'app' }), allowed: false },
  { q: 'service accounts read the OIDC configuration', who: saUser('team', 'app'), attrs: (u) => nonRes(u, 'get', '/.well-known/openid-configuration'), allowed: true },
  { q: 'service accounts read the JWKS', who: saUser('team', 'app'), attrs: (u) => nonRes(u, 'get', '/openid/v1/jwks'), allowed: true },
  { q: 'service accounts read the JWKS with a trailing slash', who: saUser('team', 'app'), attrs: (u) => nonRes(u, 'get', '/openid/v1/jwks/'), allowed: true },
  { q: 'service accounts read the OIDC configuration with a trailing slash', who: saUser('team', 'app'), attrs: (u) => nonRes(u, 'get', '/.well-known/openid-configuration/'), allowed: true },
  { q: 'users that are not service accounts do not read the JWKS', who: user('alice'), attrs: (u) => nonRes(u, 'get', '/openid/v1/jwks'), allowed: false },
  { q: 'anonymous reads /healthz', who: anonymous, attrs: (u) => nonRes(u, 'get', '/healthz'), allowed: true },
  { q: 'anonymous reads /version', who: anonymous, attrs: (u) => nonRes(u, 'get', '/version'), allowed: true },
  { q: 'anonymous does not read /api', who: anonymous, attrs: (u) => nonRes(u, 'get', '/api'), allowed: false },
  { q: 'anonymous does not read the JWKS', who: anonymous, attrs: (u) => nonRes(u, 'get', '/openid/v1/jwks'), allowed: false },
  { q: 'anonymous does not create selfsubjectaccessreviews', who: anonymous, attrs: (u) => res(u, 'create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' }), allowed: false },
  { q: 'authenticated users discover the API', who: user('alice'), attrs: (u) => nonRes(u, 'get', '/apis/authentication.k8s.io/v1'), allowed: true },
  { q: 'authenticated users read /openapi/v3', who: user('alice'), attrs: (u) => nonRes(u, 'get', '/openapi/v3'), allowed: true },
  { q: 'authenticated users ask what they may do', who: user('alice'), attrs: (u) => res(u, 'create', 'selfsubjectrulesreviews', { group: 'authorization.k8s.io' }), allowed: true },
  { q: 'authenticated users ask who they are', who: user('alice'), attrs: (u) => res(u, 'create', 'selfsubjectreviews', { group: 'authentication.k8s.io' }), allowed: true },
  { q: 'authenticated users list nothing', who: user('alice'), attrs: (u) => res(u, 'list', 'pods', { namespace: 'team' }), allowed: false },
  { q: 'system:masters may do anything', who: user('root', ['system:masters', 'system:authenticated']), attrs: (u) => res(u, 'delete', 'nodes', { name: 'n1' }), allowed: true },
  { q: 'system:masters may read any path', who: user('root', ['system:masters']), attrs: (u) => nonRes(u, 'get', '/debug/pprof'), allowed: true },
  { q: 'the system:node binding grants nodes nothing extra', who: user('system:node:x', ['system:authenticated']), attrs: (u) => res(u, 'get', 'services', { namespace: 'a' }), allowed: false },
  { q: 'nodes read services through the Node authorizer rules', who: nodeUser('n1'), attrs: (u) => res(u, 'list', 'services'), allowed: true },
  { q: 'kube-proxy lists endpointslices', who: user('system:kube-proxy'), attrs: (u) => res(u, 'list', 'endpointslices', { group: 'discovery.k8s.io' }), allowed: true },
  { q: 'monitoring reads /metrics', who: user('prom', ['system:monitoring']), attrs: (u) => nonRes(u, 'get', '/metrics'), allowed: true },
];

describe('bootstrap roles answer the questions users ask', () => {
  const authz = cluster(namespaced);
  for (const tc of questions) {
    test(tc.q, () => {
      assert.equal(authz.authorize(tc.attrs(tc.who)).decision, tc.allowed ? 'allow' : 'noOpinion');
    });
  }
});

describe('bootstrap objects', () => {
  test('every object carries the bootstrapping label and autoupdate annotation', () => {
    const p = bootstrapPolicy();
    for (const o of [...p.clusterRoles, ...p.clusterRoleBindings, ...p.roles, ...p.roleBindings]) {
      assert.equal(o.metadata?.labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults', o.metadata?.name);
      assert.equal(o.metadata?.annotations?.['rbac.authorization.kubernetes.io/autoupdate'], 'true', o.metadata?.name);
      assert.equal(o.apiVersion, 'rbac.authorization.k8s.io/v1');
    }
  });

  test('the user-facing roles and bindings exist with Kubernetes names', () => {
    const p = bootstrapPolicy();
    const roles = new Set(p.clusterRoles.map((r) => r.metadata?.name));
    for (const name of [
      'cluster-admin', 'admin', 'edit', 'view', 'system:aggregate-to-admin', 'system:aggregate-to-edit', 'system:aggregate-to-view',
      'system:basic-user', 'system:discovery', 'system:public-info-viewer', 'system:auth-delegator',
      'system:service-account-issuer-discovery', 'system:node', 'system:node-proxier', 'system:monitoring',
    ]) {
      assert.ok(roles.has(name), name);
    }
    const bindings = new Map(p.clusterRoleBindings.map((b) => [b.metadata?.name, b]));
    assert.deepEqual(bindings.get('cluster-admin')?.subjects, [Group('system:masters')]);
    assert.deepEqual(bindings.get('system:public-info-viewer')?.subjects, [Group('system:authenticated'), Group('system:unauthenticated')]);
    assert.deepEqual(bindings.get('system:service-account-issuer-discovery')?.subjects, [Group('system:serviceaccounts')]);
    assert.equal(bindings.get('system:node')?.subjects, undefined);
    assert.equal(bindings.has(UNAUTHENTICATED_ISSUER_DISCOVERY_BINDING), false);
  });

  test('admin/edit/view are aggregated roles with the Kubernetes selectors and labels', () => {
    const byName = new Map(bootstrapPolicy().clusterRoles.map((r) => [r.metadata?.name, r]));
    assert.deepEqual(byName.get('admin')?.aggregationRule, {
      clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }],
    });
    assert.equal(byName.get('admin')?.rules, undefined);
    assert.equal(byName.get('edit')?.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
    assert.equal(byName.get('view')?.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
  });

  test('rule lists are sorted like Kubernetes writes them, and calls return fresh objects', () => {
    const a = bootstrapPolicy();
    for (const r of a.clusterRoles) {
      for (const rule of r.rules ?? []) {
        for (const list of [rule.verbs, rule.apiGroups, rule.resources, rule.nonResourceURLs]) {
          if (list) assert.deepEqual(list, [...list].sort(), r.metadata?.name);
        }
      }
    }
    a.clusterRoles[0]!.rules!.push({ verbs: ['x'] });
    assert.notDeepEqual(bootstrapPolicy().clusterRoles[0]!.rules, a.clusterRoles[0]!.rules);
    assert.deepEqual(bootstrapPolicy().clusterRoles.find((r) => r.metadata?.name === 'system:node')?.rules, nodeRules());
  });

  test('anonymous OIDC discovery is opt-in', () => {
    const authz = cluster({}, { unauthenticatedIssuerDiscovery: true });
    assert.equal(authz.authorize(nonRes(anonymous, 'get', '/openid/v1/jwks')).decision, 'allow');
    assert.equal(authz.authorize(nonRes(anonymous, 'get', '/.well-known/openid-configuration')).decision, 'allow');
    assert.equal(authz.authorize(nonRes(anonymous, 'get', '/api')).decision, 'noOpinion');
  });
});
