import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole, KubeObject } from '@boundtoken/api';
import { isStatusError } from '@boundtoken/api';
import { checkRbacWrite, compactRules, compactString, covers, createAuthorizer } from '../../src/authz/index.js';
import type { RbacObject } from '../../src/authz/index.js';
import type { UserInfo } from '../../src/auth/types.js';
import { User, clusterRole, clusterRoleBinding, rbacCaches, role, roleBinding, user } from './fixtures.js';

const podRW = { verbs: ['get', 'list', 'create'], apiGroups: [''], resources: ['pods'] };
const secretsGet = { verbs: ['get'], apiGroups: [''], resources: ['secrets'] };

function world() {
  const caches = rbacCaches({
    clusterRoles: [
      clusterRole('pods', [podRW]),
      clusterRole('secrets', [secretsGet]),
      clusterRole('rbac-admin', [{ verbs: ['create', 'update', 'get', 'list'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['*'] }]),
      clusterRole('escalator', [{ verbs: ['escalate'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles', 'roles'] }]),
      clusterRole('binder', [{ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['secrets'] }]),
      clusterRole('everything', [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ]),
    ],
    clusterRoleBindings: [
      clusterRoleBinding('alice-pods', 'pods', [User('alice'), User('bob'), User('carol')]),
      clusterRoleBinding('alice-rbac', 'rbac-admin', [User('alice'), User('bob'), User('carol'), User('root')]),
      clusterRoleBinding('bob-escalate', 'escalator', [User('bob')]),
      clusterRoleBinding('carol-bind', 'binder', [User('carol')]),
      clusterRoleBinding('root', 'everything', [User('root')]),
    ],
    roles: [role('team', 'team-secrets', [secretsGet])],
    roleBindings: [roleBinding('team', 'dave-secrets', { kind: 'Role', name: 'team-secrets' }, [User('dave')])],
  });
  const chain = createAuthorizer({ modes: ['RBAC'], caches });
  return { chain, rbac: chain.rbac!, caches };
}

function check(u: UserInfo, obj: RbacObject, old?: RbacObject): 'ok' | { code: number; message: string } {
  const { chain, rbac } = world();
  try {
    checkRbacWrite(u, obj, chain, rbac, old);
    return 'ok';
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return { code: err.code, message: err.message };
  }
}

const alice = user('alice');
const groups = '["system:authenticated"]';

describe('role writes: no escalation', () => {
  test('rules the user holds', () => {
    assert.equal(check(alice, clusterRole('mine', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }])), 'ok');
    assert.equal(check(alice, role('team', 'mine', [podRW])), 'ok');
  });

  test('rules the user does not hold: 403 listing them, compacted and sorted', () => {
    assert.deepEqual(
      check(alice, clusterRole('more', [
        { verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods', 'secrets'] },
        { verbs: ['get'], nonResourceURLs: ['/metrics'] },
      ])),
      {
        code: 403,
        message:
          `clusterroles.rbac.authorization.k8s.io "more" is forbidden: user "alice" (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n` +
          '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n' +
          '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}\n' +
          '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
      },
    );
  });

  test('namespaced rules count for Roles in that namespace only', () => {
    const dave = user('dave');
    assert.equal(check(dave, role('team', 'r', [secretsGet])), 'ok');
    assert.equal((check(dave, role('other', 'r', [secretsGet])) as { code: number }).code, 403);
    assert.equal((check(dave, clusterRole('r', [secretsGet])) as { code: number }).code, 403);
  });

  test('escalate verb and system:masters bypass the check', () => {
    assert.equal(check(user('bob'), clusterRole('more', [secretsGet])), 'ok');
    assert.equal(check(user('eve', ['system:masters']), clusterRole('more', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }])), 'ok');
  });

  test('an aggregationRule needs cluster-admin rules, on create and on update', () => {
    const agg: ClusterRole = { ...clusterRole('agg', []), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }] } };
    assert.deepEqual(check(alice, agg), {
      code: 403,
      message: 'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule',
    });
    assert.equal(check(user('root'), agg), 'ok');
    const plain = clusterRole('agg', []);
    assert.equal((check(alice, plain, agg) as { code: number }).code, 403);
  });

  test('updates that only touch garbage-collection fields pass', () => {
    const stored = { ...clusterRole('big', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]), metadata: { name: 'big', resourceVersion: '5' } };
    const withFinalizer = { ...stored, metadata: { ...stored.metadata, finalizers: ['x'], resourceVersion: '5' } };
    assert.equal(check(alice, withFinalizer, stored), 'ok');
    const widened = { ...withFinalizer, rules: [...stored.rules!, { verbs: ['get'], nonResourceURLs: ['*'] }] };
    assert.equal((check(alice, widened, stored) as { code: number }).code, 403);
  });
});

describe('binding writes: bind or hold the rules', () => {
  test('binding a role whose rules the user holds', () => {
    assert.equal(check(alice, clusterRoleBinding('b', 'pods', [User('x')])), 'ok');
    assert.equal(check(alice, roleBinding('team', 'b', { kind: 'ClusterRole', name: 'pods' }, [User('x')])), 'ok');
  });

  test('binding a role the user does not hold', () => {
    assert.deepEqual(check(alice, clusterRoleBinding('b', 'secrets', [User('x')])), {
      code: 403,
      message:
        `clusterrolebindings.rbac.authorization.k8s.io "b" is forbidden: user "alice" (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n` +
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    });
  });

  test('the bind verb on that role (by name) allows it', () => {
    assert.equal(check(user('carol'), clusterRoleBinding('b', 'secrets', [User('x')])), 'ok');
    assert.equal((check(user('carol'), clusterRoleBinding('b', 'everything', [User('x')])) as { code: number }).code, 403);
  });

  test('a RoleBinding grants namespaced rules: held in that namespace', () => {
    assert.equal(check(user('dave'), roleBinding('team', 'b', { kind: 'Role', name: 'team-secrets' }, [User('x')])), 'ok');
  });

  test('binding a missing role is 404 when the rules are needed', () => {
    assert.deepEqual(check(alice, clusterRoleBinding('b', 'nope', [User('x')])), {
      code: 404,
      message: 'clusterroles.rbac.authorization.k8s.io "nope" not found',
    });
    assert.equal(check(user('root'), clusterRoleBinding('b', 'nope', [User('x')])), 'ok', 'bind on * passes without the role');
  });

  test('a RoleBinding without a namespace is a bad request', () => {
    const rb = roleBinding('', 'b', { kind: 'ClusterRole', name: 'pods' }, []);
    assert.deepEqual(check(alice, rb), { code: 400, message: 'namespace is required' });
  });

  test('other kinds are caller misuse', () => {
    const { chain, rbac } = world();
    assert.throws(() => checkRbacWrite(alice, { kind: 'Pod' } as unknown as RbacObject, chain, rbac), TypeError);
  });
});

describe('covers and compaction', () => {
  const cases: Array<{ name: string; owner: Parameters<typeof covers>[0]; servant: Parameters<typeof covers>[1]; covered: boolean }> = [
    { name: 'equal', owner: [podRW], servant: [podRW], covered: true },
    { name: 'star verbs', owner: [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }], servant: [podRW], covered: true },
    { name: 'star resource covers subresources', owner: [{ verbs: ['get'], apiGroups: [''], resources: ['*'] }], servant: [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }], covered: true },
    { name: '*/sub covers x/sub', owner: [{ verbs: ['get'], apiGroups: [''], resources: ['*/log'] }], servant: [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }], covered: true },
    { name: 'named owner does not cover unnamed', owner: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }], servant: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], covered: false },
    { name: 'unnamed owner covers named', owner: [podRW], servant: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }], covered: true },
    { name: 'URL prefix', owner: [{ verbs: ['get'], nonResourceURLs: ['/apis/*'] }], servant: [{ verbs: ['get'], nonResourceURLs: ['/apis/x'] }], covered: true },
    { name: 'split across owners', owner: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verbs: ['list'], apiGroups: [''], resources: ['pods'] }], servant: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }], covered: true },
  ];
  for (const tc of cases) test(tc.name, () => assert.equal(covers(tc.owner, tc.servant).covered, tc.covered));

  test('compaction merges simple rules by group/resource', () => {
    const merged = compactRules([
      { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['list'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] },
    ]).map(compactString);
    assert.deepEqual(merged, ['{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get"]}', '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}']);
  });

  test('resolution errors are appended to the escalation message', () => {
    const { caches } = world();
    caches.clusterRoleBindings.put(clusterRoleBinding('dangling', 'missing', [User('alice')]) as KubeObject);
    const chain = createAuthorizer({ modes: ['RBAC'], caches });
    try {
      checkRbacWrite(alice, clusterRole('x', [secretsGet]), chain, chain.rbac!);
      assert.fail('expected a 403');
    } catch (err) {
      assert.ok(isStatusError(err));
      assert.match(err.message, /; resolution errors: \[clusterrole\.rbac\.authorization\.k8s\.io "missing" not found\]$/);
    }
  });
});
