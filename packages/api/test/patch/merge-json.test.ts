import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStatusError, type KubeObject } from '@boundtoken/api';
import { applyJsonPatch, applyMergePatch, jsonPatchStrictErrors, MAX_JSON_PATCH_OPERATIONS } from '@boundtoken/api/patch';

function status(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return { code: err.code, reason: err.reason, message: err.message };
  }
  assert.fail('expected a StatusError');
}

describe('applyMergePatch (RFC 7386)', () => {
  const original: KubeObject = { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: { list: [1, 2], n: 1 } };
  const cases: [string, unknown, unknown][] = [
    ['merges objects, null deletes', { metadata: { labels: { a: null, c: '3' } } }, { metadata: { name: 'p', labels: { b: '2', c: '3' } }, spec: { list: [1, 2], n: 1 } }],
    ['arrays replace', { spec: { list: [3] } }, { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: { list: [3], n: 1 } }],
    ['new objects lose null members, arrays keep null elements', { status: { x: null, y: [null, { z: null }] } }, { ...original, status: { y: [null, {}] } }],
    ['a scalar replaces an object', { spec: 5 }, { metadata: original.metadata, spec: 5 }],
    ['empty patch is a no-op', {}, original],
  ];
  for (const [name, patch, want] of cases) {
    test(name, () => {
      assert.deepEqual(applyMergePatch(original, patch), want);
      assert.deepEqual(original, { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: { list: [1, 2], n: 1 } }, 'original untouched');
    });
  }
  test('a non-object patch is 400 Invalid JSON Patch', () => {
    for (const patch of [null, 'x', 3, [1]]) assert.deepEqual(status(() => applyMergePatch(original, patch)), { code: 400, reason: 'BadRequest', message: 'Invalid JSON Patch' });
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  const original: KubeObject = { metadata: { name: 'p', labels: { a: '1' } }, spec: { list: ['x'] } };
  test('operations apply in order', () => {
    const out = applyJsonPatch(original, [
      { op: 'test', path: '/metadata/name', value: 'p' },
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'add', path: '/spec/list/-', value: 'y' },
      { op: 'replace', path: '/metadata/labels/a', value: '3' },
      { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/c' },
      { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/d' },
      { op: 'remove', path: '/spec/list/0' },
    ]);
    assert.deepEqual(out, { metadata: { name: 'p', labels: { a: '3', c: '3', d: '2' } }, spec: { list: ['y'] } });
    assert.deepEqual(original, { metadata: { name: 'p', labels: { a: '1' } }, spec: { list: ['x'] } });
  });
  const rejected = { code: 422, reason: 'Invalid', message: 'the server rejected our request due to an error in our request' };
  const failing: [string, unknown][] = [
    ['failed test', [{ op: 'test', path: '/metadata/name', value: 'q' }]],
    ['missing path', [{ op: 'replace', path: '/metadata/nope', value: 1 }]],
    ['remove missing', [{ op: 'remove', path: '/spec/x' }]],
    ['unknown op', [{ op: 'frobnicate', path: '/a' }]],
    ['prototype pollution', [{ op: 'add', path: '/__proto__/polluted', value: 1 }]],
    ['replace the root with a scalar', [{ op: 'replace', path: '', value: 1 }]],
  ];
  for (const [name, ops] of failing) test(`${name}: 422`, () => assert.deepEqual(status(() => applyJsonPatch(original, ops)), rejected));
  test('a body that is not a list of operations: 400 as Go decodes it', () => {
    assert.deepEqual(status(() => applyJsonPatch(original, { op: 'add' })), { code: 400, reason: 'BadRequest', message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch' });
    assert.deepEqual(status(() => applyJsonPatch(original, ['x'])), { code: 400, reason: 'BadRequest', message: 'json: cannot unmarshal string into Go value of type jsonpatch.Operation' });
  });
  test('more than 10000 operations: 413', () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/metadata/name', value: 'p' }));
    assert.deepEqual(status(() => applyJsonPatch(original, ops)), {
      code: 413,
      reason: 'RequestEntityTooLarge',
      message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    });
  });
  test('strict errors of the operations themselves', () => {
    assert.deepEqual(jsonPatchStrictErrors([{ op: 'add', path: '/a', valu: 1 }], ['[0].op']), ['json patch duplicate field "[0].op"', 'json patch unknown field "[0].valu"']);
  });
});

test('absurdly nested patches are a 400, not an internal error', () => {
  const deep = JSON.parse('{"x":'.repeat(20000) + '1' + '}'.repeat(20000)) as unknown;
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
  for (const fn of [() => applyMergePatch(cm, { data: deep }), () => applyJsonPatch(cm, [{ op: 'add', path: '/data', value: deep }])]) {
    const s = status(fn);
    assert.equal(s.code === 400 || s.code === 422, true, s.message);
  }
});
