import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAlwaysAllowAuthorizer,
  createAuthorizer,
  createPrivilegedGroupAuthorizer,
  createUnionAuthorizer,
  createUnionRuleResolver,
  forbiddenError,
  forbiddenReason,
} from '../../src/authz/index.js';
import type { Authorizer, Decision } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import { anonymous, nonRes, rbacCaches, res, user } from './fixtures.js';

const fixed = (d: Decision): Authorizer => ({ authorize: () => d });

describe('forbidden messages', () => {
  const alice = user('alice');
  const cases: Array<{ name: string; attrs: Parameters<typeof forbiddenReason>[0]; reason?: string; message: string; details: object }> = [
    {
      name: 'namespaced list',
      attrs: res(alice, 'list', 'pods', { namespace: 'default' }),
      message: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
      details: { kind: 'pods' },
    },
    {
      name: 'named, grouped, cluster scope',
      attrs: res(alice, 'get', 'clusterroles', { group: 'rbac.authorization.k8s.io', name: 'admin' }),
      message: 'clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "alice" cannot get resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope',
      details: { name: 'admin', group: 'rbac.authorization.k8s.io', kind: 'clusterroles' },
    },
    {
      name: 'subresource',
      attrs: res(alice, 'create', 'serviceaccounts/token', { namespace: 'ns', name: 'default' }),
      message: 'serviceaccounts "default" is forbidden: User "alice" cannot create resource "serviceaccounts/token" in API group "" in the namespace "ns"',
      details: { name: 'default', kind: 'serviceaccounts' },
    },
    {
      name: 'non-resource',
      attrs: nonRes(anonymous, 'get', '/healthz'),
      message: 'forbidden: User "system:anonymous" cannot get path "/healthz"',
      details: {},
    },
    {
      name: 'with the authorizers\' reason',
      attrs: res(alice, 'get', 'secrets', { namespace: 'ns', name: 's' }),
      reason: 'RBAC: role.rbac.authorization.k8s.io "x" not found',
      message: 'secrets "s" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "ns": RBAC: role.rbac.authorization.k8s.io "x" not found',
      details: { name: 's', kind: 'secrets' },
    },
    {
      name: 'HTML is escaped',
      attrs: nonRes(user('<b>&'), 'get', '/x'),
      message: 'forbidden: User "&lt;b&gt;&amp;" cannot get path "/x"',
      details: {},
    },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const err = forbiddenError(tc.attrs, tc.reason);
      assert.equal(err.code, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.equal(err.message, tc.message);
      assert.equal(err.status.message, tc.message);
      assert.deepEqual(err.status.details, tc.details);
    });
  }
  test('forbiddenReason is the message without the resource prefix', () => {
    assert.equal(forbiddenReason(res(alice, 'watch', 'nodes')), 'User "alice" cannot watch resource "nodes" in API group "" at the cluster scope');
  });
});

describe('union authorizer', () => {
  test('first allow or deny wins; abstentions join their reasons', () => {
    const a = res(user('x'), 'get', 'pods');
    assert.deepEqual(createUnionAuthorizer([fixed({ decision: 'noOpinion', reason: 'one' }), fixed({ decision: 'deny', reason: 'no' }), fixed({ decision: 'allow', reason: '' })]).authorize(a), { decision: 'deny', reason: 'no' });
    assert.deepEqual(createUnionAuthorizer([fixed({ decision: 'noOpinion', reason: 'one' }), fixed({ decision: 'noOpinion', reason: '' }), fixed({ decision: 'noOpinion', reason: 'two' })]).authorize(a), { decision: 'noOpinion', reason: 'one\ntwo' });
    assert.deepEqual(createUnionAuthorizer([]).authorize(a), { decision: 'noOpinion', reason: '' });
  });

  test('privileged groups, always-allow and the union rule resolver', () => {
    assert.equal(createPrivilegedGroupAuthorizer().authorize(res(user('r', ['system:masters']), 'delete', 'nodes')).decision, 'allow');
    assert.equal(createPrivilegedGroupAuthorizer().authorize(res(user('r'), 'delete', 'nodes')).decision, 'noOpinion');
    const allow = createAlwaysAllowAuthorizer();
    assert.equal(allow.authorize(nonRes(anonymous, 'delete', '/x')).decision, 'allow');
    const union = createUnionRuleResolver([
      allow,
      { rulesFor: () => ({ resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'e1' }) },
      { rulesFor: () => ({ resourceRules: [], nonResourceRules: [], incomplete: false, evaluationError: 'e2' }) },
    ]);
    const r = union.rulesFor(user('x'), 'ns');
    assert.deepEqual(r.resourceRules, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
    assert.deepEqual(r.nonResourceRules, [{ verbs: ['*'], nonResourceURLs: ['*'] }]);
    assert.equal(r.incomplete, true);
    assert.equal(r.evaluationError, '[e1, e2]');
  });
});

describe('createAuthorizer', () => {
  test('mode validation is caller misuse', () => {
    const caches = { ...rbacCaches({}), pods: memoryCache() };
    assert.throws(() => createAuthorizer({ modes: [], caches }), TypeError);
    assert.throws(() => createAuthorizer({ modes: ['RBAC', 'RBAC'], caches }), TypeError);
    assert.throws(() => createAuthorizer({ modes: ['ABAC' as 'RBAC'], caches }), TypeError);
    assert.throws(() => createAuthorizer({ modes: ['Node'], caches: {} }), TypeError);
    assert.throws(() => createAuthorizer({ modes: ['RBAC'], caches: { pods: memoryCache() } }), TypeError);
  });

  test('system:masters first, then the modes in order', () => {
    const caches = { ...rbacCaches({}), pods: memoryCache() };
    const rbacOnly = createAuthorizer({ modes: ['RBAC'], caches });
    assert.equal(rbacOnly.node, undefined);
    assert.ok(rbacOnly.rbac);
    assert.equal(rbacOnly.authorize(res(user('r', ['system:masters']), 'delete', 'nodes')).decision, 'allow');
    assert.equal(rbacOnly.authorize(res(user('r'), 'delete', 'nodes')).decision, 'noOpinion');
    const open = createAuthorizer({ modes: ['AlwaysAllow'], caches: {} });
    assert.equal(open.authorize(nonRes(anonymous, 'get', '/x')).decision, 'allow');
    assert.equal(open.rulesFor(anonymous, 'ns').resourceRules.length, 1);
    rbacOnly.close();
    assert.equal(caches.clusterRoleBindings.subscribers, 0);
  });
});
