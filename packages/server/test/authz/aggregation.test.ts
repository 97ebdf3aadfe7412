import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole } from '@boundtoken/api';
import { aggregateAll, aggregateClusterRole, clusterRoleAggregationUpdates, compileLabelSelector } from '../../src/authz/index.js';
import { clusterRole } from './fixtures.js';

const r = (verb: string, resource: string) => ({ verbs: [verb], apiGroups: [''], resources: [resource] });
const aggregated = (name: string, selectors: NonNullable<ClusterRole['aggregationRule']>['clusterRoleSelectors'], labels?: Record<string, string>): ClusterRole => ({
  ...clusterRole(name, [], labels),
  rules: undefined,
  aggregationRule: { clusterRoleSelectors: selectors },
});

describe('label selectors', () => {
  const cases: Array<{ name: string; selector: Parameters<typeof compileLabelSelector>[0]; labels: Record<string, string>; matches: boolean | 'error' }> = [
    { name: 'empty selector matches everything', selector: {}, labels: {}, matches: true },
    { name: 'matchLabels hit', selector: { matchLabels: { a: '1' } }, labels: { a: '1', b: '2' }, matches: true },
    { name: 'matchLabels miss', selector: { matchLabels: { a: '1' } }, labels: { a: '2' }, matches: false },
    { name: 'In', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, labels: { a: '2' }, matches: true },
    { name: 'In needs the label', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, labels: {}, matches: false },
    { name: 'NotIn passes without the label', selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels: {}, matches: true },
    { name: 'NotIn', selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels: { a: '1' }, matches: false },
    { name: 'Exists', selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] }, labels: { a: '' }, matches: true },
    { name: 'DoesNotExist', selector: { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, labels: { a: 'x' }, matches: false },
    { name: 'ANDed', selector: { matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] }, labels: { a: '1' }, matches: false },
    { name: 'In without values is invalid', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, labels: {}, matches: 'error' },
    { name: 'Exists with values is invalid', selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, labels: {}, matches: 'error' },
    { name: 'unknown operator is invalid', selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] }, labels: {}, matches: 'error' },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const compiled = compileLabelSelector(tc.selector);
      if (tc.matches === 'error') assert.equal(typeof compiled, 'object');
      else {
        assert.equal(typeof compiled, 'function');
        assert.equal((compiled as (l: Record<string, string>) => boolean)(tc.labels), tc.matches);
      }
    });
  }
});

describe('ClusterRole aggregation', () => {
  test('gathers rules of matching roles in name order, without duplicates or itself', () => {
    const target = aggregated('target', [{ matchLabels: { agg: 'yes' } }], { agg: 'yes' });
    const all = [
      target,
      clusterRole('b-role', [r('get', 'pods'), r('list', 'pods')], { agg: 'yes' }),
      clusterRole('a-role', [r('list', 'pods'), r('get', 'secrets')], { agg: 'yes' }),
      clusterRole('other', [r('delete', 'nodes')]),
    ];
    assert.deepEqual(aggregateClusterRole(target, all), {
      kind: 'rules',
      rules: [r('list', 'pods'), r('get', 'secrets'), r('get', 'pods')],
    });
  });

  test('selectors are applied in order', () => {
    const target = aggregated('t', [{ matchLabels: { x: '1' } }, { matchLabels: { y: '1' } }]);
    const all = [target, clusterRole('a', [r('get', 'a')], { y: '1' }), clusterRole('z', [r('get', 'z')], { x: '1' })];
    assert.deepEqual(aggregateClusterRole(target, all), { kind: 'rules', rules: [r('get', 'z'), r('get', 'a')] });
  });

  test('roles without an aggregation rule are left alone; invalid selectors report an error', () => {
    assert.deepEqual(aggregateClusterRole(clusterRole('plain', [r('get', 'pods')]), []), { kind: 'none' });
    const bad = aggregated('bad', [{ matchExpressions: [{ key: 'a', operator: 'In' }] }]);
    assert.equal(aggregateClusterRole(bad, [bad]).kind, 'error');
    assert.deepEqual(clusterRoleAggregationUpdates([bad, clusterRole('x', [r('get', 'x')])]), []);
  });

  test('updates list only roles whose rules change, and chains settle (admin <- edit <- view)', () => {
    const view = aggregated('view', [{ matchLabels: { 'to-view': 'true' } }], { 'to-edit': 'true' });
    const edit = aggregated('edit', [{ matchLabels: { 'to-edit': 'true' } }], { 'to-admin': 'true' });
    const admin = aggregated('admin', [{ matchLabels: { 'to-admin': 'true' } }]);
    const all = [
      admin,
      edit,
      view,
      clusterRole('agg-view', [r('get', 'pods')], { 'to-view': 'true' }),
      clusterRole('agg-edit', [r('create', 'pods')], { 'to-edit': 'true' }),
      clusterRole('agg-admin', [r('create', 'rolebindings')], { 'to-admin': 'true' }),
    ];
    const first = clusterRoleAggregationUpdates(all).map((u) => u.name).sort();
    assert.deepEqual(first, ['admin', 'edit', 'view']);
    const settled = new Map(aggregateAll(all).map((c) => [c.metadata?.name, c.rules]));
    assert.deepEqual(settled.get('view'), [r('get', 'pods')]);
    assert.deepEqual(settled.get('edit'), [r('create', 'pods'), r('get', 'pods')]);
    assert.deepEqual(settled.get('admin'), [r('create', 'rolebindings'), r('create', 'pods'), r('get', 'pods')]);
    assert.deepEqual(clusterRoleAggregationUpdates(aggregateAll(all)), []);
  });
});
