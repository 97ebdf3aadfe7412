import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole, ClusterRoleBinding } from '@boundtoken/api';
import { bootstrapPolicy, reconcileBootstrapPolicy } from '../../src/authz/index.js';
import type { BootstrapPolicy } from '../../src/authz/index.js';
import { Group, User } from './fixtures.js';

const empty: BootstrapPolicy = { clusterRoles: [], clusterRoleBindings: [], roles: [], roleBindings: [] };

function stored<T extends { metadata?: object }>(o: T, patch: (o: T) => void = () => {}): T {
  const copy = structuredClone(o);
  copy.metadata = { ...copy.metadata, resourceVersion: '7', uid: 'u' };
  patch(copy);
  return copy;
}

describe('reconcileBootstrapPolicy', () => {
  test('creates everything on an empty store, then nothing', () => {
    const wanted = bootstrapPolicy();
    const actions = reconcileBootstrapPolicy(empty, wanted);
    const total = wanted.clusterRoles.length + wanted.clusterRoleBindings.length + wanted.roles.length + wanted.roleBindings.length;
    assert.equal(actions.length, total);
    assert.ok(actions.every((a) => a.op === 'create'));
    assert.deepEqual(
      actions.filter((a) => a.resource === 'clusterroles').map((a) => a.object.metadata?.name),
      wanted.clusterRoles.map((r) => r.metadata?.name),
    );
    const existing = {
      clusterRoles: wanted.clusterRoles.map((r) => stored(r)),
      clusterRoleBindings: wanted.clusterRoleBindings.map((r) => stored(r)),
      roles: wanted.roles.map((r) => stored(r)),
      roleBindings: wanted.roleBindings.map((r) => stored(r)),
    };
    assert.deepEqual(reconcileBootstrapPolicy(existing, bootstrapPolicy()), []);
  });

  test('adds missing rules, labels and subjects; keeps what users added', () => {
    const wanted = bootstrapPolicy();
    const discovery = wanted.clusterRoles.find((r) => r.metadata?.name === 'system:discovery')!;
    const basic = wanted.clusterRoleBindings.find((b) => b.metadata?.name === 'system:basic-user')!;
    const existing: BootstrapPolicy = {
      ...empty,
      clusterRoles: [
        stored(discovery, (r: ClusterRole) => {
          r.rules = [{ verbs: ['get'], nonResourceURLs: ['/version', '/custom'] }];
          r.metadata!.labels = { mine: 'yes' };
        }),
      ],
      clusterRoleBindings: [stored(basic, (b: ClusterRoleBinding) => (b.subjects = [User('someone')]))],
    };
    const actions = reconcileBootstrapPolicy(existing, { ...empty, clusterRoles: [discovery], clusterRoleBindings: [basic] });
    assert.equal(actions.length, 2);
    const role = actions[0]!;
    assert.equal(role.op, 'update');
    const r = role.object as ClusterRole;
    assert.equal(r.metadata?.resourceVersion, '7');
    assert.deepEqual(r.metadata?.labels, { 'kubernetes.io/bootstrapping': 'rbac-defaults', mine: 'yes' });
    assert.equal(r.metadata?.annotations?.['rbac.authorization.kubernetes.io/autoupdate'], 'true');
    assert.deepEqual(r.rules![0], { verbs: ['get'], nonResourceURLs: ['/version', '/custom'] });
    const urls = r.rules!.flatMap((x) => x.nonResourceURLs ?? []);
    for (const u of ['/api', '/apis/*', '/healthz', '/openapi/*']) assert.ok(urls.includes(u), u);
    assert.ok(!urls.slice(2).includes('/version'), 'rules already held are not added again');
    const binding = actions[1]!;
    assert.equal(binding.op, 'update');
    assert.deepEqual((binding.object as ClusterRoleBinding).subjects, [User('someone'), Group('system:authenticated')]);
  });

  test('objects with autoupdate "false" are left alone', () => {
    const wanted = bootstrapPolicy();
    const admin = wanted.clusterRoleBindings.find((b) => b.metadata?.name === 'cluster-admin')!;
    const protectedBinding = stored(admin, (b: ClusterRoleBinding) => {
      b.subjects = [];
      b.metadata!.annotations = { 'rbac.authorization.kubernetes.io/autoupdate': 'false' };
      b.roleRef = { ...b.roleRef, name: 'other' };
    });
    assert.deepEqual(reconcileBootstrapPolicy({ ...empty, clusterRoleBindings: [protectedBinding] }, { ...empty, clusterRoleBindings: [admin] }), []);
  });

  test('a binding with another roleRef is recreated', () => {
    const wanted = bootstrapPolicy();
    const admin = wanted.clusterRoleBindings.find((b) => b.metadata?.name === 'cluster-admin')!;
    const wrong = stored(admin, (b: ClusterRoleBinding) => (b.roleRef = { ...b.roleRef, name: 'view' }));
    const actions = reconcileBootstrapPolicy({ ...empty, clusterRoleBindings: [wrong] }, { ...empty, clusterRoleBindings: [admin] });
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.op, 'recreate');
    assert.deepEqual(actions[0]!.object, admin);
  });

  test('aggregated roles keep their gathered rules and gain missing selectors', () => {
    const wanted = bootstrapPolicy();
    const view = wanted.clusterRoles.find((r) => r.metadata?.name === 'view')!;
    const gathered = stored(view, (r: ClusterRole) => (r.rules = [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]));
    assert.deepEqual(reconcileBootstrapPolicy({ ...empty, clusterRoles: [gathered] }, { ...empty, clusterRoles: [view] }), []);
    const noSelectors = stored(view, (r: ClusterRole) => (r.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { custom: 'x' } }] }));
    const [action] = reconcileBootstrapPolicy({ ...empty, clusterRoles: [noSelectors] }, { ...empty, clusterRoles: [view] });
    assert.deepEqual((action!.object as ClusterRole).aggregationRule?.clusterRoleSelectors, [
      { matchLabels: { custom: 'x' } },
      { matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    ]);
  });

  test('actions never share objects with the inputs', () => {
    const wanted = bootstrapPolicy();
    const [first] = reconcileBootstrapPolicy(empty, wanted);
    first!.object.metadata!.name = 'mutated';
    assert.equal(wanted.clusterRoles[0]!.metadata?.name, 'cluster-admin');
  });
});
