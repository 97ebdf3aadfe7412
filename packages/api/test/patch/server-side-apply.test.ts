import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStatusError, type KubeObject } from '@boundtoken/api';
import { applyServerSide, FieldSet, formatPath, trackUpdate } from '@boundtoken/api/patch';

const POD = { group: '', version: 'v1', kind: 'Pod' };
const CM = { group: '', version: 'v1', kind: 'ConfigMap' };
const T0 = new Date('2025-01-01T00:00:00Z');
const T1 = new Date('2025-01-01T00:01:00Z');

function pod(containers: object[], extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', ...extra }, spec: { containers } };
}

function fields(obj: KubeObject, manager: string): unknown {
  return obj.metadata?.managedFields?.find((e) => e.manager === manager)?.fieldsV1;
}

function rejects(fn: () => unknown, code: number, reason: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isStatusError(err), String(err));
    assert.equal(err.code, code);
    assert.equal(err.reason, reason);
    assert.equal(err.message, message);
    return true;
  });
}

describe('FieldSet', () => {
  test('FieldsV1 round trip, members with children get "."', () => {
    const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {} } } } };
    const set = FieldSet.fromFieldsV1(v1);
    assert.deepEqual(set.toFieldsV1(), v1);
    assert.ok(set.has(['f:spec', 'f:containers', 'k:{"name":"c"}']));
    assert.ok(!set.has(['f:spec']));
    assert.deepEqual(set.paths().map(formatPath), ['.metadata.labels', '.metadata.labels.app', '.spec.containers[name="c"]', '.spec.containers[name="c"].image']);
  });
  test('set algebra by members', () => {
    const a = FieldSet.fromFieldsV1({ 'f:a': {}, 'f:b': { 'f:c': {}, 'f:d': {} } });
    const b = FieldSet.fromFieldsV1({ 'f:b': { 'f:c': {} }, 'f:e': {} });
    assert.deepEqual(a.difference(b).toFieldsV1(), { 'f:a': {}, 'f:b': { 'f:d': {} } });
    assert.deepEqual(a.intersection(b).toFieldsV1(), { 'f:b': { 'f:c': {} } });
    assert.deepEqual(a.union(b).toFieldsV1(), { 'f:a': {}, 'f:b': { 'f:c': {}, 'f:d': {} }, 'f:e': {} });
    assert.ok(a.difference(a).isEmpty());
  });
  test('malformed FieldsV1 is a TypeError', () => {
    for (const bad of [[], { x: {} }, { 'f:a': 1 }, { '.': {} }]) assert.throws(() => FieldSet.fromFieldsV1(bad), TypeError);
  });
  test('paths print like structured-merge-diff', () => {
    assert.equal(formatPath(['f:spec', 'f:containers', 'k:{"containerPort":80,"protocol":"TCP"}', 'f:name']), '.spec.containers[containerPort=80,protocol="TCP"].name');
    assert.equal(formatPath(['f:metadata', 'f:finalizers', 'v:"a"']), '.metadata.finalizers[="a"]');
  });
});

describe('applyServerSide', () => {
  test('create: the applier owns what it set; values are canonical', () => {
    const out = applyServerSide(undefined, pod([{ name: 'c', image: 'i', resources: { limits: { cpu: 0.5 } } }], { labels: { app: 'x' } }), { manager: 'mgr', force: false, gvk: POD, now: T0 });
    assert.deepEqual((out.spec as { containers: unknown[] }).containers, [{ name: 'c', image: 'i', resources: { limits: { cpu: '500m' } } }]);
    assert.deepEqual(out.metadata!.managedFields, [
      {
        manager: 'mgr',
        operation: 'Apply',
        apiVersion: 'v1',
        time: '2025-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:resources': { 'f:limits': { 'f:cpu': {} } } } } },
        },
      },
    ]);
  });

  test('fields the applier stops applying are removed unless someone else owns them', () => {
    let live = applyServerSide(undefined, pod([{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }], { labels: { x: '1', y: '2' } }), { manager: 'm', force: false, gvk: POD, now: T0 });
    // another manager (an ordinary update) adds a field to container b
    live = trackUpdate(live, { ...live, spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b', workingDir: '/w' }] } }, { manager: 'other', operation: 'Update', gvk: POD, now: T0 });
    const out = applyServerSide(live, pod([{ name: 'a', image: 'a2' }], { labels: { x: '1' } }), { manager: 'm', force: false, gvk: POD, now: T1 });
    assert.deepEqual(out.metadata!.labels, { x: '1' });
    assert.deepEqual((out.spec as { containers: unknown[] }).containers, [{ name: 'a', image: 'a2' }, { name: 'b', workingDir: '/w' }]);
    assert.deepEqual(fields(out, 'other'), { 'f:spec': { 'f:containers': { 'k:{"name":"b"}': { 'f:workingDir': {} } } } });
  });

  test('a change to a field another manager owns is a 409 unless forced', () => {
    const created = trackUpdate(undefined, pod([{ name: 'c', image: 'nginx:1' }]), { manager: 'kubectl-client-side-apply', operation: 'Update', gvk: POD, now: T0 });
    const config = pod([{ name: 'c', image: 'nginx:2' }]);
    assert.throws(
      () => applyServerSide(created, config, { manager: 'mine', force: false, gvk: POD, now: T1 }),
      (err: unknown) => {
        assert.ok(isStatusError(err));
        assert.equal(err.code, 409);
        assert.equal(err.reason, 'Conflict');
        assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="c"].image');
        assert.deepEqual(err.status.details, {
          causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.spec.containers[name="c"].image' }],
        });
        return true;
      },
    );
    // the same value is no conflict: both own it
    const same = applyServerSide(created, pod([{ name: 'c', image: 'nginx:1' }]), { manager: 'mine', force: false, gvk: POD, now: T1 });
    assert.ok(fields(same, 'mine'));
    assert.ok(fields(same, 'kubectl-client-side-apply'));
    // forced: the field moves to the applier
    const forced = applyServerSide(created, config, { manager: 'mine', force: true, gvk: POD, now: T1 });
    assert.equal((forced.spec as { containers: { image: string }[] }).containers[0]!.image, 'nginx:2');
    assert.deepEqual(fields(forced, 'kubectl-client-side-apply'), { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {} }, '.': {} } } });
  });

  test('several conflicts are listed per manager (a field both own conflicts with both)', () => {
    let live = trackUpdate(undefined, pod([{ name: 'c', image: 'i', workingDir: '/a' }]), { manager: 'u1', operation: 'Update', gvk: POD, now: T0 });
    live = applyServerSide(live, pod([{ name: 'c', image: 'i' }], { labels: { a: '1' } }), { manager: 'ap', force: true, gvk: POD, now: T0 });
    rejects(
      () => applyServerSide(live, pod([{ name: 'c', image: 'j', workingDir: '/b' }], { labels: { a: '2' } }), { manager: 'x', force: false, gvk: POD, now: T1 }),
      409,
      'Conflict',
      'Apply failed with 4 conflicts: conflicts with "ap":\n- .metadata.labels.a\n- .spec.containers[name="c"].image\nconflicts with "u1" using v1:\n- .spec.containers[name="c"].image\n- .spec.containers[name="c"].workingDir',
    );
  });

  test('kubectl takes over fields of its client-side last-applied configuration and keeps it current', () => {
    const lastApplied = JSON.stringify(pod([{ name: 'c', image: 'nginx:1' }])) + '\n';
    const created = trackUpdate(undefined, pod([{ name: 'c', image: 'nginx:1' }], { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } }), {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      gvk: POD,
      now: T0,
    });
    const out = applyServerSide(created, pod([{ name: 'c', image: 'nginx:2' }]), { manager: 'kubectl', force: false, gvk: POD, now: T1 });
    assert.equal((out.spec as { containers: { image: string }[] }).containers[0]!.image, 'nginx:2');
    assert.equal(
      out.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration'],
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{"image":"nginx:2","name":"c"}]}}\n',
    );
    assert.throws(() => applyServerSide(created, pod([{ name: 'c', image: 'nginx:2' }]), { manager: 'not-kubectl', force: false, gvk: POD, now: T1 }), (e: unknown) => isStatusError(e) && e.code === 409);
  });

  test('an object nobody manages gets a before-first-apply owner', () => {
    const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { a: '1', b: '2' } };
    const out = applyServerSide(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { a: '1' } }, { manager: 'm', force: false, gvk: CM, now: T1 });
    assert.deepEqual(out.data, { a: '1', b: '2' });
    assert.deepEqual(fields(out, 'before-first-apply'), { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } });
    rejects(
      () => applyServerSide(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'changed' } }, { manager: 'm', force: false, gvk: CM, now: T1 }),
      409,
      'Conflict',
      'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a',
    );
  });

  test('a null in the configuration unsets the field and the applier owns it', () => {
    const live = applyServerSide(undefined, pod([{ name: 'c', image: 'i', workingDir: '/w' }]), { manager: 'm', force: false, gvk: POD, now: T0 });
    const out = applyServerSide(live, pod([{ name: 'c', image: 'i', workingDir: null }]), { manager: 'm', force: false, gvk: POD, now: T1 });
    assert.deepEqual((out.spec as { containers: unknown[] }).containers, [{ name: 'c', image: 'i' }]);
  });

  test('configurations that do not fit the schema are 400s', () => {
    const opts = { manager: 'm', force: false, gvk: POD, now: T0 };
    rejects(() => applyServerSide(undefined, pod([{ name: 'c', foo: 1 }]), opts), 400, 'BadRequest', 'failed to create typed patch object (ns/p; /v1, Kind=Pod): .spec.containers[name="c"].foo: field not declared in schema');
    rejects(() => applyServerSide(undefined, pod([{ image: 'x' }]), opts), 400, 'BadRequest', 'failed to create typed patch object (ns/p; /v1, Kind=Pod): .spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)');
    rejects(() => applyServerSide(undefined, pod([{ name: 'c' }, { name: 'c' }]), opts), 400, 'BadRequest', 'failed to create typed patch object (ns/p; /v1, Kind=Pod): .spec.containers: duplicate entries for key [name="c"]');
    rejects(() => applyServerSide(undefined, { ...pod([]), metadata: { name: 'p', managedFields: [] } }, opts), 400, 'BadRequest', 'metadata.managedFields must be nil');
    rejects(() => applyServerSide(undefined, { ...pod([]), kind: 'Secret' }, opts), 400, 'BadRequest', 'invalid object type: /v1, Kind=Secret');
    assert.throws(() => applyServerSide(undefined, pod([]), { ...opts, manager: '' }), TypeError);
  });

  test('container ports key on containerPort and the defaulted protocol', () => {
    const live = applyServerSide(undefined, pod([{ name: 'c', ports: [{ containerPort: 80 }] }]), { manager: 'm', force: false, gvk: POD, now: T0 });
    assert.deepEqual(fields(live, 'm'), {
      'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } },
    });
  });
});

describe('trackUpdate', () => {
  test('create records every field under the manager; metadata identity is never recorded', () => {
    const out = trackUpdate(undefined, { ...pod([{ name: 'c', image: 'i' }]), metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { a: 'b' } } }, { manager: 'kubectl-create', operation: 'Update', gvk: POD, now: T0 });
    assert.deepEqual(out.metadata!.managedFields, [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2025-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } },
          'f:spec': { 'f:containers': { '.': {}, 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
        },
      },
    ]);
  });

  test('an update takes changed fields from other managers; removed fields leave every set', () => {
    const applied = applyServerSide(undefined, pod([{ name: 'c', image: 'i', workingDir: '/w' }]), { manager: 'ap', force: false, gvk: POD, now: T0 });
    const updated = trackUpdate(applied, { ...applied, spec: { containers: [{ name: 'c', image: 'j' }] } }, { manager: 'edit', operation: 'Update', gvk: POD, now: T1 });
    assert.deepEqual(fields(updated, 'ap'), { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {} } } } });
    assert.deepEqual(fields(updated, 'edit'), { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:image': {} } } } });
    assert.equal(updated.metadata!.managedFields!.find((e) => e.manager === 'edit')!.time, '2025-01-01T00:01:00Z');
    const status = trackUpdate(updated, { ...updated, status: { phase: 'Running' } }, { manager: 'kubelet', operation: 'Update', subresource: 'status', gvk: POD, now: T1 });
    assert.deepEqual(status.metadata!.managedFields!.find((e) => e.manager === 'kubelet'), {
      manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2025-01-01T00:01:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:phase': {} } }, subresource: 'status',
    });
  });

  test('a no-op update records nothing; managedFields sent by the client replace the live ones; [{}] clears', () => {
    const live = trackUpdate(undefined, pod([{ name: 'c' }]), { manager: 'a', operation: 'Update', gvk: POD, now: T0 });
    assert.deepEqual(trackUpdate(live, live, { manager: 'b', operation: 'Update', gvk: POD, now: T1 }).metadata!.managedFields, live.metadata!.managedFields);
    const rewritten = [{ manager: 'z', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:containers': {} } } }];
    const edited = trackUpdate(live, { ...live, metadata: { ...live.metadata, managedFields: rewritten } }, { manager: 'b', operation: 'Update', gvk: POD, now: T1 });
    assert.deepEqual(edited.metadata!.managedFields, rewritten);
    const cleared = trackUpdate(live, { ...live, metadata: { ...live.metadata, managedFields: [{}] } }, { manager: 'b', operation: 'Update', gvk: POD, now: T1 });
    assert.equal(cleared.metadata!.managedFields, undefined);
    const garbage = trackUpdate(live, { ...live, metadata: { ...live.metadata, managedFields: [{ operation: 'Nope' }] } as never }, { manager: 'b', operation: 'Update', gvk: POD, now: T1 });
    assert.deepEqual(garbage.metadata!.managedFields, live.metadata!.managedFields);
  });
});
