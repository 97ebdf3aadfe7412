import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStatusError, type KubeObject } from '@boundtoken/api';
import { applyStrategicMergePatch, patchObject } from '@boundtoken/api/patch';

const POD = { group: '', version: 'v1', kind: 'Pod' };
const smp = (o: unknown, p: unknown) => applyStrategicMergePatch(o as KubeObject, p, POD);

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p' }): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

describe('applyStrategicMergePatch', () => {
  const live = pod({
    containers: [
      { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }], args: ['--one'] },
      { name: 'b', image: 'b:1' },
    ],
    volumes: [{ name: 'v', emptyDir: {} }],
    tolerations: [{ key: 'k', operator: 'Exists' }],
  }, { name: 'p', finalizers: ['f1', 'f2'], labels: { a: '1' }, ownerReferences: [] });

  test('lists of maps merge by the patch merge key; scalar lists set-merge; others replace', () => {
    // without $setElementOrder, items only the patch has go before the server's (as in Kubernetes)
    const out = smp(live, {
      metadata: { finalizers: ['f3'], labels: { a: null, b: '2' } },
      spec: {
        containers: [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '3' }], args: ['--two'] }, { name: 'c', image: 'c:1' }],
        tolerations: [{ key: 'other', operator: 'Exists' }],
      },
    });
    assert.deepEqual(out.metadata, { name: 'p', finalizers: ['f3', 'f1', 'f2'], labels: { b: '2' }, ownerReferences: [] });
    const spec = out.spec as Record<string, unknown>;
    assert.deepEqual(spec.containers, [
      { name: 'a', image: 'a:2', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '3' }], args: ['--two'] },
      { name: 'c', image: 'c:1' },
      { name: 'b', image: 'b:1' },
    ]);
    assert.deepEqual(spec.tolerations, [{ key: 'other', operator: 'Exists' }]);
  });

  test('what kubectl apply sends: $setElementOrder orders, $patch: delete removes, $retainKeys drops', () => {
    const out = smp(live, {
      spec: {
        '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
        containers: [{ name: 'a', '$setElementOrder/env': [{ name: 'Y' }, { name: 'X' }], env: [{ name: 'X', value: '9' }] }],
        volumes: [{ name: 'v', $retainKeys: ['name', 'secret'], secret: { secretName: 's' } }],
      },
    });
    const spec = out.spec as { containers: { name: string; env?: unknown }[]; volumes: unknown };
    assert.deepEqual(spec.containers.map((c) => c.name), ['b', 'a']);
    assert.deepEqual(spec.containers[1]!.env, [{ name: 'Y', value: '2' }, { name: 'X', value: '9' }]);
    assert.deepEqual(spec.volumes, [{ name: 'v', secret: { secretName: 's' } }]);
    const deleted = smp(live, { spec: { containers: [{ name: 'b', $patch: 'delete' }] } });
    assert.deepEqual((deleted.spec as { containers: { name: string }[] }).containers.map((c) => c.name), ['a']);
  });

  test('$patch: replace in a map and in a list, $deleteFromPrimitiveList', () => {
    const out = smp(live, {
      metadata: { labels: { $patch: 'replace', z: '1' }, '$deleteFromPrimitiveList/finalizers': ['f1'] },
      spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o' }] },
    });
    assert.deepEqual(out.metadata, { name: 'p', finalizers: ['f2'], labels: { z: '1' }, ownerReferences: [] });
    assert.deepEqual((out.spec as { containers: unknown }).containers, [{ name: 'only', image: 'o' }]);
    assert.deepEqual(smp(live, { spec: { $patch: 'delete' } }).spec, {});
  });

  test('the last-applied annotation is just data', () => {
    const ann = { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1"}\n' };
    assert.deepEqual(smp(live, { metadata: { annotations: ann } }).metadata, { ...live.metadata, annotations: ann });
  });

  test('errors as the apiserver answers them', () => {
    const cases: [unknown, number, string, string | RegExp][] = [
      [['x'], 400, 'BadRequest', 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
      [{ spec: { volumes: [{ name: 'v', $retainKeys: 'x' }] } }, 400, 'BadRequest', 'invalid patch format of retainKeys'],
      [{ spec: { volumes: [{ name: 'v', $retainKeys: ['name'], secret: {} }] } }, 400, 'BadRequest', 'invalid patch format of retainKeys'],
      [{ spec: { containers: [{ image: 'no-name' }] } }, 500, 'Unknown', 'map: map[image:no-name] does not contain declared merge key: name'],
      [{ metadata: { labels: { $patch: 'merge' } } }, 500, 'Unknown', 'unknown patch type: merge in map: map[$patch:merge]'],
      [{ metadata: { finalizers: [[1]] } }, 500, 'Unknown', 'list element types are not identical: [[f1 f2] [[1]]]'],
      [{ spec: { tolerations: [] }, metadata: { ownerReferences: [[1]] } }, 422, 'Invalid', 'the server rejected our request due to an error in our request'],
    ];
    for (const [patch, code, reason, message] of cases) {
      assert.throws(() => smp(live, patch), (err: unknown) => {
        assert.ok(isStatusError(err), String(err));
        assert.equal(err.code, code, JSON.stringify(patch));
        assert.equal(err.reason, reason);
        if (typeof message === 'string') assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
      });
    }
  });

  test('null patch is empty; the original is not modified', () => {
    const copy = structuredClone(live);
    assert.deepEqual(smp(live, null), live);
    smp(live, { spec: { containers: [{ name: 'a', image: 'z' }] } });
    assert.deepEqual(live, copy);
  });
});

describe('patchObject', () => {
  const live = pod({ containers: [{ name: 'a', image: 'a:1' }] });
  test('decodes the result: unknown fields by fieldValidation', () => {
    const patch = { spec: { foo: 1 } };
    assert.throws(
      () => patchObject(live, patch, { type: 'strategic', gvk: POD, fieldValidation: 'Strict' }),
      (err: unknown) =>
        isStatusError(err) &&
        err.code === 422 &&
        err.message === ' "" is invalid: patch: Invalid value: "map[spec:map[foo:1]]": strict decoding error: unknown field "spec.foo"',
    );
    const warn = patchObject(live, patch, { type: 'merge', gvk: POD, fieldValidation: 'Warn', duplicateFields: ['spec'] });
    assert.deepEqual(warn.warnings, ['duplicate field "spec"', 'unknown field "spec.foo"']);
    assert.deepEqual(warn.object, live);
    assert.deepEqual(patchObject(live, patch, { type: 'merge', gvk: POD, fieldValidation: 'Ignore' }).warnings, []);
  });
  test('a patched object that does not decode is a 422 on "patch"', () => {
    assert.throws(
      () => patchObject(live, [{ op: 'replace', path: '/spec/containers', value: 'x' }], { type: 'json', gvk: POD, fieldValidation: 'Ignore' }),
      (err: unknown) => {
        assert.ok(isStatusError(err));
        assert.equal(err.code, 422);
        assert.equal(
          err.message,
          ` "" is invalid: patch: Invalid value: ${JSON.stringify(JSON.stringify({ ...live, spec: { containers: 'x' } }))}: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`,
        );
        assert.equal(err.status.details?.causes?.[0]?.field, 'patch');
        return true;
      },
    );
  });
  test('json patch strict errors come from the operations too', () => {
    const r = patchObject(live, [{ op: 'add', path: '/metadata/labels', value: { a: 'b' }, extra: 1 }], { type: 'json', gvk: POD, fieldValidation: 'Warn' });
    assert.deepEqual(r.warnings, ['json patch unknown field "[0].extra"']);
    assert.deepEqual(r.object.metadata, { name: 'p', labels: { a: 'b' } });
  });
});
