import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError } from '@boundtoken/api';
import {
  bootstrapPolicy,
  createAuthorizer,
  localSubjectAccessReview,
  parseFieldSelector,
  parseLabelSelector,
  selfSubjectAccessReview,
  selfSubjectRulesReview,
  subjectAccessReview,
} from '../../src/authz/index.js';
import type { AuthorizationAttributes, Authorizer } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import { Group, SA, User, clusterRole, clusterRoleBinding, nodeUser, rbacCaches, roleBinding, saUser, user } from './fixtures.js';

function chain() {
  const policy = bootstrapPolicy();
  const caches = rbacCaches({
    ...policy,
    clusterRoles: [...policy.clusterRoles, clusterRole('pod-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }])],
    clusterRoleBindings: [
      ...policy.clusterRoleBindings,
      clusterRoleBinding('vault-auth-delegator', 'system:auth-delegator', [SA('vault', 'vault')]),
    ],
    roleBindings: [...policy.roleBindings, roleBinding('team', 'readers', { kind: 'ClusterRole', name: 'pod-reader' }, [User('alice'), Group('qa')])],
  });
  return createAuthorizer({ modes: ['Node', 'RBAC'], caches: { ...caches, pods: memoryCache() } });
}

function statusErr(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a StatusError');
}

const sar = (spec: Record<string, unknown>, metadata?: Record<string, unknown>) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SubjectAccessReview',
  ...(metadata ? { metadata } : {}),
  spec,
});

describe('SubjectAccessReview', () => {
  const authz = chain();

  test('allowed, with the reason and the spec echoed', () => {
    const body = sar(
      { user: 'alice', groups: ['system:authenticated'], resourceAttributes: { namespace: 'team', verb: 'list', resource: 'pods', group: '' } },
      { creationTimestamp: null },
    );
    assert.deepEqual(subjectAccessReview(body, authz), {
      kind: 'SubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'team', verb: 'list', resource: 'pods' }, user: 'alice', groups: ['system:authenticated'] },
      status: { allowed: true, reason: 'RBAC: allowed by RoleBinding "readers/team" of ClusterRole "pod-reader" to User "alice"' },
    });
  });

  test('not allowed: allowed false, no reason', () => {
    const r = subjectAccessReview(sar({ user: 'alice', resourceAttributes: { namespace: 'team', verb: 'delete', resource: 'pods' } }), authz);
    assert.deepEqual(r.status, { allowed: false });
  });

  test('the spec user is taken as given: no implicit groups', () => {
    const body = sar({ user: 'alice', nonResourceAttributes: { path: '/api', verb: 'get' } });
    assert.equal(subjectAccessReview(body, authz).status.allowed, false);
    const withGroup = sar({ user: 'alice', groups: ['system:authenticated'], nonResourceAttributes: { path: '/api', verb: 'get' } });
    assert.equal(subjectAccessReview(withGroup, authz).status.allowed, true);
  });

  test('groups alone, and service accounts through their user name', () => {
    assert.equal(subjectAccessReview(sar({ groups: ['qa'], resourceAttributes: { namespace: 'team', verb: 'get', resource: 'pods' } }), authz).status.allowed, true);
    const vault = sar({ user: 'system:serviceaccount:vault:vault', resourceAttributes: { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' } });
    assert.equal(subjectAccessReview(vault, authz).status.allowed, true);
  });

  test('node users go through the Node authorizer', () => {
    const body = sar({ user: 'system:node:n1', groups: ['system:nodes'], resourceAttributes: { namespace: 'team', verb: 'get', resource: 'secrets', name: 's' } });
    assert.deepEqual(subjectAccessReview(body, authz).status, { allowed: false, reason: "no relationship found between node 'n1' and this object" });
  });

  const invalid: Array<{ name: string; body: unknown; message: string }> = [
    {
      name: 'neither attributes nor subject',
      body: sar({}),
      message:
        '.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified, ' +
        'spec.user: Invalid value: "": at least one of user or group must be specified]',
    },
    {
      name: 'both attributes',
      body: sar({ user: 'a', resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/x', verb: 'get' } }),
      message: '.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: {"path":"/x","verb":"get"}: cannot be specified in combination with resourceAttributes',
    },
    {
      name: 'metadata set',
      body: sar({ user: 'a', nonResourceAttributes: { path: '/x', verb: 'get' } }, { name: 'x' }),
      message: '.authorization.k8s.io "" is invalid: metadata: Invalid value: {"name":"x"}: must be empty',
    },
    {
      name: 'selector with both raw and requirements',
      body: sar({ user: 'a', resourceAttributes: { verb: 'list', resource: 'pods', fieldSelector: { rawSelector: 'a=b', requirements: [{ key: 'a', operator: 'In', values: ['b'] }] } } }),
      message: '.authorization.k8s.io "" is invalid: spec.resourceAttributes.fieldSelector.rawSelector: Invalid value: "a=b": may not specified at the same time as requirements',
    },
  ];
  for (const tc of invalid) {
    test(`invalid: ${tc.name}`, () => assert.deepEqual(statusErr(() => subjectAccessReview(tc.body, authz)), { code: 422, message: tc.message }));
  }

  test('a body that is not an object is a bad request', () => {
    assert.equal(statusErr(() => subjectAccessReview('nope', authz)).code, 400);
    assert.equal(statusErr(() => subjectAccessReview(null, authz)).code, 400);
  });

  test('hostile field types are ignored or rejected as StatusErrors, never crash', () => {
    const r = subjectAccessReview(sar({ user: 'a', groups: ['g', 7], extra: { a: 'b' }, resourceAttributes: { verb: ['get'], resource: {} } }), authz);
    assert.equal(r.status.allowed, false);
    assert.equal(statusErr(() => subjectAccessReview(sar({ user: 5, groups: 'x', resourceAttributes: [] }), authz)).code, 422);
  });
});

describe('selectors in access reviews', () => {
  test('parsed into the attributes the authorizer sees; parse errors go to evaluationError', () => {
    const seen: AuthorizationAttributes[] = [];
    const recorder: Authorizer = { authorize: (a) => (seen.push(a), { decision: 'noOpinion', reason: '' }) };
    const base = { user: 'a', resourceAttributes: { verb: 'list', resource: 'pods' } };
    subjectAccessReview(sar({ ...base, resourceAttributes: { ...base.resourceAttributes, fieldSelector: { rawSelector: 'spec.nodeName=n1' }, labelSelector: { rawSelector: 'app in (a, b),!legacy' } } }), recorder);
    assert.deepEqual(seen[0]!.fieldSelector, [{ key: 'spec.nodeName', operator: '=', values: ['n1'] }]);
    assert.deepEqual(seen[0]!.labelSelector, [
      { key: 'app', operator: 'in', values: ['a', 'b'] },
      { key: 'legacy', operator: '!', values: [] },
    ]);
    assert.equal(seen[0]!.apiVersion, '*');

    subjectAccessReview(sar({ ...base, resourceAttributes: { ...base.resourceAttributes, fieldSelector: { requirements: [{ key: 'spec.nodeName', operator: 'In', values: ['n1'] }] } } }), recorder);
    assert.deepEqual(seen[1]!.fieldSelector, [{ key: 'spec.nodeName', operator: '=', values: ['n1'] }]);

    const r = subjectAccessReview(
      sar({ ...base, resourceAttributes: { ...base.resourceAttributes, fieldSelector: { rawSelector: 'key in value' }, labelSelector: { rawSelector: '&' } } }),
      recorder,
    );
    assert.equal(r.status.evaluationError, 'spec.resourceAttributes.fieldSelector ignored due to parse error; spec.resourceAttributes.labelSelector ignored due to parse error');
    assert.equal(seen[2]!.fieldSelector, undefined);
  });

  test('a node may list its pods only with its own spec.nodeName selector', () => {
    const authz = chain();
    const ask = (raw?: string) =>
      subjectAccessReview(
        sar({ user: 'system:node:n1', groups: ['system:nodes'], resourceAttributes: { verb: 'list', resource: 'pods', ...(raw ? { fieldSelector: { rawSelector: raw } } : {}) } }),
        authz,
      ).status.allowed;
    assert.equal(ask('spec.nodeName=n1'), true);
    assert.equal(ask('spec.nodeName==n1'), true);
    assert.equal(ask('spec.nodeName=n2'), false);
    assert.equal(ask(), false);
  });

  const fieldCases: Array<[string, ReturnType<typeof parseFieldSelector>]> = [
    ['a=b,c!=d', { ok: true, requirements: [{ key: 'a', operator: '=', values: ['b'] }, { key: 'c', operator: '!=', values: ['d'] }] }],
    ['', { ok: true, requirements: [] }],
    ['nonsense', { ok: false, error: "invalid selector: 'nonsense'; can't understand 'nonsense'" }],
  ];
  for (const [raw, want] of fieldCases) test(`field selector ${JSON.stringify(raw)}`, () => assert.deepEqual(parseFieldSelector(raw), want));

  const labelCases: Array<[string, boolean]> = [['a', true], ['!a', true], ['a=b', true], ['a==b', true], ['a!=b', true], ['a in (x,y)', true], ['a notin (x)', true], ['a in ()', false], ['a b', false], ['=b', false]];
  for (const [raw, ok] of labelCases) test(`label selector ${JSON.stringify(raw)}`, () => assert.equal(parseLabelSelector(raw).ok, ok));
});

describe('LocalSubjectAccessReview', () => {
  const authz = chain();
  const body = (ns: string | undefined, spec: Record<string, unknown>) => ({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'LocalSubjectAccessReview',
    metadata: ns === undefined ? {} : { namespace: ns },
    spec,
  });

  test('takes the URL namespace', () => {
    const r = localSubjectAccessReview(body(undefined, { user: 'alice', resourceAttributes: { namespace: 'team', verb: 'get', resource: 'pods' } }), 'team', authz);
    assert.equal(r.status.allowed, true);
    assert.deepEqual(r.metadata, { namespace: 'team', creationTimestamp: null });
  });

  test('namespace mismatches', () => {
    assert.deepEqual(statusErr(() => localSubjectAccessReview(body('other', { user: 'a', resourceAttributes: { namespace: 'other' } }), 'team', authz)), {
      code: 400,
      message: 'the namespace of the provided object does not match the namespace sent on the request',
    });
    assert.deepEqual(statusErr(() => localSubjectAccessReview(body('team', { user: 'a', resourceAttributes: { namespace: 'x', verb: 'get' } }), 'team', authz)), {
      code: 422,
      message: '.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "x": must match metadata.namespace',
    });
    assert.deepEqual(statusErr(() => localSubjectAccessReview(body('team', { user: 'a', nonResourceAttributes: { path: '/x', verb: 'get' } }), 'team', authz)), {
      code: 422,
      message: '.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: {"path":"/x","verb":"get"}: disallowed on this kind of request',
    });
  });
});

describe('SelfSubjectAccessReview (kubectl auth can-i)', () => {
  const authz = chain();
  const ssar = (attrs: Record<string, unknown>) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: { creationTimestamp: null }, spec: attrs });

  test('answers for the requesting user', () => {
    const r = selfSubjectAccessReview(ssar({ resourceAttributes: { namespace: 'team', verb: 'list', resource: 'pods' } }), user('alice'), authz);
    assert.equal(r.status.allowed, true);
    assert.deepEqual(r.spec, { resourceAttributes: { namespace: 'team', verb: 'list', resource: 'pods' } });
    assert.equal(selfSubjectAccessReview(ssar({ resourceAttributes: { namespace: 'team', verb: 'list', resource: 'pods' } }), user('bob'), authz).status.allowed, false);
  });

  test('can-i create serviceaccounts/token and tokenreviews', () => {
    const token = ssar({ resourceAttributes: { namespace: 'vault', verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'vault' } });
    const review = ssar({ resourceAttributes: { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' } });
    assert.equal(selfSubjectAccessReview(token, saUser('vault', 'vault'), authz).status.allowed, false);
    assert.equal(selfSubjectAccessReview(review, saUser('vault', 'vault'), authz).status.allowed, true);
    assert.equal(selfSubjectAccessReview(token, user('root', ['system:masters']), authz).status.allowed, true);
  });

  test('validation', () => {
    assert.equal(statusErr(() => selfSubjectAccessReview(ssar({}), user('a'), authz)).code, 422);
  });
});

describe('SelfSubjectRulesReview (kubectl auth can-i --list)', () => {
  const authz = chain();
  const ssrr = (namespace?: string) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: namespace ? { namespace } : {} });

  test('lists the rules of the requesting user in the namespace', () => {
    const r = selfSubjectRulesReview(ssrr('team'), user('alice'), authz);
    assert.equal(r.kind, 'SelfSubjectRulesReview');
    assert.deepEqual(r.spec, {});
    assert.equal(r.status.incomplete, false);
    assert.ok(r.status.resourceRules.some((x) => x.resources?.includes('pods') && x.verbs.includes('list')));
    assert.ok(r.status.resourceRules.some((x) => x.resources?.includes('selfsubjectrulesreviews')));
    assert.ok(r.status.nonResourceRules.some((x) => x.nonResourceURLs?.includes('/api')));
    assert.equal(r.status.evaluationError, undefined);
    const elsewhere = selfSubjectRulesReview(ssrr('other'), user('alice'), authz);
    assert.ok(!elsewhere.status.resourceRules.some((x) => x.resources?.includes('pods')));
  });

  test('nodes get an incomplete list', () => {
    const r = selfSubjectRulesReview(ssrr('default'), nodeUser('n1'), authz);
    assert.equal(r.status.incomplete, true);
    assert.equal(r.status.evaluationError, 'node authorizer does not support user rule resolution');
  });

  test('a namespace is required', () => {
    assert.deepEqual(statusErr(() => selfSubjectRulesReview(ssrr(), user('alice'), authz)), { code: 400, message: 'no namespace on request' });
  });
});
