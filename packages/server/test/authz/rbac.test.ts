import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyRule } from '@boundtoken/api';
import { createRbacAuthorizer } from '../../src/authz/index.js';
import type { AuthorizationAttributes } from '../../src/auth/types.js';
import {
  Group,
  SA,
  User,
  clusterRole,
  clusterRoleBinding,
  nonRes,
  rbacCaches,
  res,
  role,
  roleBinding,
  saUser,
  user,
} from './fixtures.js';

const alice = user('alice');

/** One rule granted to alice cluster-wide; then a request; allowed or not. */
const ruleCases: Array<{ name: string; rule: PolicyRule; attrs: AuthorizationAttributes; allowed: boolean }> = [
  { name: 'exact verb/group/resource', rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, attrs: res(alice, 'get', 'pods', { namespace: 'ns' }), allowed: true },
  { name: 'other verb', rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, attrs: res(alice, 'list', 'pods'), allowed: false },
  { name: 'verb *', rule: { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, attrs: res(alice, 'deletecollection', 'pods'), allowed: true },
  { name: 'other group', rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, attrs: res(alice, 'get', 'pods', { group: 'apps' }), allowed: false },
  { name: 'group *', rule: { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] }, attrs: res(alice, 'get', 'deployments', { group: 'apps' }), allowed: true },
  { name: 'resource *', rule: { verbs: ['get'], apiGroups: [''], resources: ['*'] }, attrs: res(alice, 'get', 'secrets'), allowed: true },
  { name: 'resource * covers subresources', rule: { verbs: ['get'], apiGroups: [''], resources: ['*'] }, attrs: res(alice, 'get', 'pods/log'), allowed: true },
  { name: 'resource does not cover its subresource', rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, attrs: res(alice, 'get', 'pods/log'), allowed: false },
  { name: 'resource/subresource', rule: { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] }, attrs: res(alice, 'create', 'serviceaccounts/token', { namespace: 'ns', name: 'sa' }), allowed: true },
  { name: 'subresource rule does not cover the resource', rule: { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] }, attrs: res(alice, 'create', 'serviceaccounts', { namespace: 'ns' }), allowed: false },
  { name: '*/subresource', rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*/status'] }, attrs: res(alice, 'get', 'pods/status'), allowed: true },
  { name: '*/subresource, other subresource', rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*/status'] }, attrs: res(alice, 'get', 'pods/log'), allowed: false },
  { name: '*/subresource does not match the resource', rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*/status'] }, attrs: res(alice, 'get', 'pods'), allowed: false },
  { name: 'resourceNames match', rule: { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a', 'b'] }, attrs: res(alice, 'get', 'configmaps', { namespace: 'ns', name: 'b' }), allowed: true },
  { name: 'resourceNames other name', rule: { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, attrs: res(alice, 'get', 'configmaps', { namespace: 'ns', name: 'c' }), allowed: false },
  { name: 'resourceNames never match list without name', rule: { verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, attrs: res(alice, 'list', 'configmaps', { namespace: 'ns' }), allowed: false },
  { name: 'resourceNames match list with a metadata.name selector', rule: { verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, attrs: res(alice, 'list', 'configmaps', { namespace: 'ns', name: 'a' }), allowed: true },
  { name: 'resourceNames never match create', rule: { verbs: ['create'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, attrs: res(alice, 'create', 'configmaps', { namespace: 'ns' }), allowed: false },
  { name: 'nonResourceURL exact', rule: { verbs: ['get'], nonResourceURLs: ['/healthz'] }, attrs: nonRes(alice, 'get', '/healthz'), allowed: true },
  { name: 'nonResourceURL exact, other path', rule: { verbs: ['get'], nonResourceURLs: ['/healthz'] }, attrs: nonRes(alice, 'get', '/healthz/ping'), allowed: false },
  { name: 'nonResourceURL prefix', rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, attrs: nonRes(alice, 'get', '/apis/apps/v1'), allowed: true },
  { name: 'nonResourceURL prefix needs the slash', rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, attrs: nonRes(alice, 'get', '/apis'), allowed: false },
  { name: 'nonResourceURL *', rule: { verbs: ['get'], nonResourceURLs: ['*'] }, attrs: nonRes(alice, 'get', '/anything'), allowed: true },
  { name: 'nonResourceURL verb', rule: { verbs: ['get'], nonResourceURLs: ['*'] }, attrs: nonRes(alice, 'post', '/anything'), allowed: false },
  { name: 'resource rule does not grant paths', rule: { verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, attrs: nonRes(alice, 'get', '/healthz'), allowed: false },
  { name: 'path rule does not grant resources', rule: { verbs: ['*'], nonResourceURLs: ['*'] }, attrs: res(alice, 'get', 'pods'), allowed: false },
];

describe('RBAC rule evaluation', () => {
  for (const tc of ruleCases) {
    test(tc.name, () => {
      const caches = rbacCaches({
        clusterRoles: [clusterRole('r', [tc.rule])],
        clusterRoleBindings: [clusterRoleBinding('b', 'r', [User('alice')])],
      });
      const rbac = createRbacAuthorizer(caches);
      assert.equal(rbac.authorize(tc.attrs).decision, tc.allowed ? 'allow' : 'noOpinion');
    });
  }
});

const podReader = clusterRole('pod-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]);
const nsRole = role('team', 'cm-writer', [{ verbs: ['create'], apiGroups: [''], resources: ['configmaps'] }]);

/** Bindings and subjects: who gets what where. */
const bindingCases: Array<{ name: string; setup: Parameters<typeof rbacCaches>[0]; attrs: AuthorizationAttributes; allowed: boolean }> = [
  {
    name: 'ClusterRoleBinding grants in every namespace',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [User('alice')])] },
    attrs: res(alice, 'list', 'pods', { namespace: 'any' }),
    allowed: true,
  },
  {
    name: 'ClusterRoleBinding grants cluster-wide requests',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [User('alice')])] },
    attrs: res(alice, 'list', 'pods'),
    allowed: true,
  },
  {
    name: 'RoleBinding to a ClusterRole is scoped to its namespace',
    setup: { clusterRoles: [podReader], roleBindings: [roleBinding('team', 'b', { kind: 'ClusterRole', name: 'pod-reader' }, [User('alice')])] },
    attrs: res(alice, 'list', 'pods', { namespace: 'other' }),
    allowed: false,
  },
  {
    name: 'RoleBinding to a ClusterRole grants in its namespace',
    setup: { clusterRoles: [podReader], roleBindings: [roleBinding('team', 'b', { kind: 'ClusterRole', name: 'pod-reader' }, [User('alice')])] },
    attrs: res(alice, 'list', 'pods', { namespace: 'team' }),
    allowed: true,
  },
  {
    name: 'RoleBinding never grants cluster-scope requests',
    setup: { clusterRoles: [podReader], roleBindings: [roleBinding('team', 'b', { kind: 'ClusterRole', name: 'pod-reader' }, [User('alice')])] },
    attrs: res(alice, 'list', 'pods'),
    allowed: false,
  },
  {
    name: 'RoleBinding to a Role',
    setup: { roles: [nsRole], roleBindings: [roleBinding('team', 'b', { kind: 'Role', name: 'cm-writer' }, [User('alice')])] },
    attrs: res(alice, 'create', 'configmaps', { namespace: 'team' }),
    allowed: true,
  },
  {
    name: 'RoleBinding to a Role of another namespace resolves nothing',
    setup: { roles: [nsRole], roleBindings: [roleBinding('other', 'b', { kind: 'Role', name: 'cm-writer' }, [User('alice')])] },
    attrs: res(alice, 'create', 'configmaps', { namespace: 'other' }),
    allowed: false,
  },
  {
    name: 'Group subject',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [Group('devs')])] },
    attrs: res(user('bob', ['devs', 'system:authenticated']), 'get', 'pods', { namespace: 'x' }),
    allowed: true,
  },
  {
    name: 'User subject is not a group',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [User('devs')])] },
    attrs: res(user('bob', ['devs']), 'get', 'pods', { namespace: 'x' }),
    allowed: false,
  },
  {
    name: 'ServiceAccount subject with namespace',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [SA('builder', 'ci')])] },
    attrs: res(saUser('ci', 'builder'), 'get', 'pods', { namespace: 'x' }),
    allowed: true,
  },
  {
    name: 'ServiceAccount subject of another namespace',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [SA('builder', 'ci')])] },
    attrs: res(saUser('prod', 'builder'), 'get', 'pods', { namespace: 'x' }),
    allowed: false,
  },
  {
    name: 'ServiceAccount subject without namespace in a ClusterRoleBinding matches nobody',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [SA('builder')])] },
    attrs: res(saUser('', 'builder'), 'get', 'pods', { namespace: 'x' }),
    allowed: false,
  },
  {
    name: 'ServiceAccount subject without namespace in a RoleBinding means the binding namespace',
    setup: { clusterRoles: [podReader], roleBindings: [roleBinding('ci', 'b', { kind: 'ClusterRole', name: 'pod-reader' }, [SA('builder')])] },
    attrs: res(saUser('ci', 'builder'), 'get', 'pods', { namespace: 'ci' }),
    allowed: true,
  },
  {
    name: 'User subject named like a service account matches it',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [User('system:serviceaccount:ci:builder')])] },
    attrs: res(saUser('ci', 'builder'), 'get', 'pods', { namespace: 'x' }),
    allowed: true,
  },
  {
    name: 'service account groups',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [Group('system:serviceaccounts:ci')])] },
    attrs: res(saUser('ci', 'anyone'), 'get', 'pods', { namespace: 'x' }),
    allowed: true,
  },
  {
    name: 'unknown subject kind',
    setup: { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [{ kind: 'Robot', name: 'alice' }])] },
    attrs: res(alice, 'get', 'pods', { namespace: 'x' }),
    allowed: false,
  },
];

describe('RBAC bindings and subjects', () => {
  for (const tc of bindingCases) {
    test(tc.name, () => {
      const rbac = createRbacAuthorizer(rbacCaches(tc.setup));
      assert.equal(rbac.authorize(tc.attrs).decision, tc.allowed ? 'allow' : 'noOpinion');
    });
  }
});

describe('RBAC reasons', () => {
  test('an allow names the binding, role and subject', () => {
    const rbac = createRbacAuthorizer(
      rbacCaches({
        clusterRoles: [podReader],
        clusterRoleBindings: [clusterRoleBinding('readers', 'pod-reader', [Group('devs')])],
        roleBindings: [roleBinding('ci', 'ci-readers', { kind: 'ClusterRole', name: 'pod-reader' }, [SA('builder')])],
      }),
    );
    assert.deepEqual(rbac.authorize(res(user('bob', ['devs']), 'get', 'pods')), {
      decision: 'allow',
      reason: 'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "pod-reader" to Group "devs"',
    });
    assert.deepEqual(rbac.authorize(res(saUser('ci', 'builder'), 'get', 'pods', { namespace: 'ci' })), {
      decision: 'allow',
      reason: 'RBAC: allowed by RoleBinding "ci-readers/ci" of ClusterRole "pod-reader" to ServiceAccount "builder/ci"',
    });
  });

  test('missing roles are reported as the reason, other bindings still apply', () => {
    const rbac = createRbacAuthorizer(
      rbacCaches({
        clusterRoles: [podReader],
        clusterRoleBindings: [clusterRoleBinding('a', 'gone', [User('alice')]), clusterRoleBinding('b', 'pod-reader', [User('alice')])],
        roleBindings: [roleBinding('ns', 'c', { kind: 'Role', name: 'missing' }, [User('alice')])],
      }),
    );
    assert.equal(rbac.authorize(res(alice, 'get', 'pods', { namespace: 'ns' })).decision, 'allow');
    assert.deepEqual(rbac.authorize(res(alice, 'delete', 'pods', { namespace: 'ns' })), {
      decision: 'noOpinion',
      reason:
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
    });
    assert.deepEqual(rbac.authorize(res(alice, 'delete', 'pods')), {
      decision: 'noOpinion',
      reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    });
  });

  test('no bindings: no opinion, empty reason', () => {
    const rbac = createRbacAuthorizer(rbacCaches({}));
    assert.deepEqual(rbac.authorize(res(alice, 'get', 'pods')), { decision: 'noOpinion', reason: '' });
  });
});

describe('RBAC follows cache changes', () => {
  test('bindings and roles added, changed and removed take effect at once', () => {
    const caches = rbacCaches({ clusterRoles: [podReader] });
    const rbac = createRbacAuthorizer(caches);
    const get = res(alice, 'get', 'pods', { namespace: 'ns' });
    assert.equal(rbac.authorize(get).decision, 'noOpinion');

    caches.clusterRoleBindings.put(clusterRoleBinding('b', 'pod-reader', [User('alice')]));
    assert.equal(rbac.authorize(get).decision, 'allow');

    caches.clusterRoles.put(clusterRole('pod-reader', [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }]));
    assert.equal(rbac.authorize(get).decision, 'noOpinion');
    assert.equal(rbac.authorize(res(alice, 'list', 'pods')).decision, 'allow');

    caches.clusterRoleBindings.put(clusterRoleBinding('b', 'pod-reader', [User('bob')]));
    assert.equal(rbac.authorize(res(alice, 'list', 'pods')).decision, 'noOpinion');
    assert.equal(rbac.authorize(res(user('bob'), 'list', 'pods')).decision, 'allow');

    caches.clusterRoleBindings.remove('', 'b');
    assert.equal(rbac.authorize(res(user('bob'), 'list', 'pods')).decision, 'noOpinion');

    caches.roleBindings.put(roleBinding('ns', 'rb', { kind: 'ClusterRole', name: 'pod-reader' }, [User('alice')]));
    assert.equal(rbac.authorize(res(alice, 'list', 'pods', { namespace: 'ns' })).decision, 'allow');
    caches.roleBindings.remove('ns', 'rb');
    assert.equal(rbac.authorize(res(alice, 'list', 'pods', { namespace: 'ns' })).decision, 'noOpinion');
  });

  test('works with the resolution cache disabled or tiny', () => {
    for (const maxCachedUsers of [0, 1]) {
      const caches = rbacCaches({ clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'pod-reader', [User('alice'), User('bob')])] });
      const rbac = createRbacAuthorizer(caches, { maxCachedUsers });
      for (let i = 0; i < 3; i++) {
        assert.equal(rbac.authorize(res(alice, 'get', 'pods')).decision, 'allow');
        assert.equal(rbac.authorize(res(user('bob'), 'get', 'pods')).decision, 'allow');
        assert.equal(rbac.authorize(res(user('carol'), 'get', 'pods')).decision, 'noOpinion');
      }
    }
    assert.throws(() => createRbacAuthorizer(rbacCaches({}), { maxCachedUsers: -1 }), TypeError);
  });

  test('close() unsubscribes', () => {
    const caches = rbacCaches({});
    const rbac = createRbacAuthorizer(caches);
    assert.equal(caches.clusterRoleBindings.subscribers, 1);
    rbac.close();
    assert.equal(caches.clusterRoleBindings.subscribers + caches.roleBindings.subscribers + caches.roles.subscribers + caches.clusterRoles.subscribers, 0);
  });
});

describe('RBAC rulesFor', () => {
  test('splits resource and non-resource rules and reports resolution errors', () => {
    const rbac = createRbacAuthorizer(
      rbacCaches({
        clusterRoles: [podReader, clusterRole('paths', [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }])],
        roles: [nsRole],
        clusterRoleBindings: [clusterRoleBinding('a', 'pod-reader', [User('alice')]), clusterRoleBinding('b', 'paths', [User('alice')])],
        roleBindings: [
          roleBinding('team', 'c', { kind: 'Role', name: 'cm-writer' }, [User('alice')]),
          roleBinding('team', 'd', { kind: 'Role', name: 'nope' }, [User('alice')]),
        ],
      }),
    );
    const r = rbac.rulesFor(alice, 'team');
    assert.deepEqual(r.resourceRules, [podReader.rules![0], nsRole.rules![0]]);
    assert.deepEqual(r.nonResourceRules, [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }]);
    assert.equal(r.incomplete, false);
    assert.equal(r.evaluationError, 'role.rbac.authorization.k8s.io "nope" not found');
    assert.equal(rbac.rulesFor(alice, '').resourceRules.length, 1);
  });
});
