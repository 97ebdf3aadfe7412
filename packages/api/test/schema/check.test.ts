import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStatusError } from '@boundtoken/api';
import { checkObject, findDuplicateKeys, type FieldValidation } from '@boundtoken/api/schema';

const POD = { group: '', version: 'v1', kind: 'Pod' };
const SECRET = { group: '', version: 'v1', kind: 'Secret' };

function rejects(fn: () => unknown, code: number, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isStatusError(err), String(err));
    assert.equal(err.code, code);
    assert.equal(err.reason, code === 400 ? 'BadRequest' : err.reason);
    assert.equal(err.message, message);
    return true;
  });
}

describe('checkObject: type errors with encoding/json wording', () => {
  const prefix = 'Pod in version "v1" cannot be handled as a Pod: ';
  const cases: [string, unknown, string][] = [
    ['list given a string', { spec: { containers: 'x' } }, 'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container'],
    ['string given a number', { spec: { containers: [{ name: 5 }] } }, 'json: cannot unmarshal number into Go struct field Container.spec.containers.name of type string'],
    ['struct given an array', { spec: [] }, 'json: cannot unmarshal array into Go struct field Pod.spec of type v1.PodSpec'],
    ['bool given a string', { spec: { hostNetwork: 'true' } }, 'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool'],
    ['int32 given a fraction', { spec: { containers: [{ name: 'a', ports: [{ containerPort: 1.5 }] }] } }, 'json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
    ['int32 overflow', { spec: { containers: [{ name: 'a', ports: [{ containerPort: 2147483648 }] }] } }, 'json: cannot unmarshal number 2147483648 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
    [
      'int64 given a string, through an inline struct',
      { spec: { volumes: [{ name: 'v', projected: { sources: [{ serviceAccountToken: { path: 't', expirationSeconds: '3600' } }] } }] } },
      'json: cannot unmarshal string into Go struct field ServiceAccountTokenProjection.spec.volumes.VolumeSource.projected.sources.serviceAccountToken.expirationSeconds of type int64',
    ],
    ['map value of the wrong type', { metadata: { labels: { a: 1 } } }, 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string'],
    ['the first error wins', { spec: { hostNetwork: 1, hostPID: 'x' } }, 'json: cannot unmarshal number into Go struct field PodSpec.spec.hostNetwork of type bool'],
    ['not an object', [1], 'json: cannot unmarshal array into Go value of type v1.Pod'],
    ['bad time', { metadata: { creationTimestamp: 'yesterday' } }, 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'],
    ['time out of range', { metadata: { creationTimestamp: '2024-02-30T00:00:00Z' } }, 'parsing time "2024-02-30T00:00:00Z": day out of range'],
    ['time given a number', { metadata: { creationTimestamp: 5 } }, 'json: cannot unmarshal number into Go value of type string'],
    ['bad quantity', { spec: { containers: [{ name: 'a', resources: { limits: { cpu: 'lots' } } }] } }, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ['bad int-or-string', { spec: { containers: [{ name: 'a', livenessProbe: { httpGet: { port: 1.5 } } }] } }, 'json: cannot unmarshal number 1.5 into Go value of type int32'],
  ];
  for (const [name, obj, want] of cases) {
    test(name, () => rejects(() => checkObject(obj, POD, { fieldValidation: 'Strict' }), 400, prefix + want));
  }
  test('Secret data must be base64', () => {
    rejects(() => checkObject({ data: { a: 'not base64!' } }, SECRET, { fieldValidation: 'Ignore' }), 400, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3');
    assert.deepEqual(checkObject({ data: { a: 'YWJj', b: 'YQ==' } }, SECRET, { fieldValidation: 'Strict' }).object, { data: { a: 'YWJj', b: 'YQ==' } });
  });
});

describe('checkObject: unknown and duplicate fields by fieldValidation', () => {
  const body = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { foo: 1, containers: [{ name: 'c', image: 'i', bar: true }], volumes: [{ name: 'v', projected: { sources: [{ serviceAccountToken: { path: 't', baz: 1 } }] } }] },
  };
  const unknown = [
    'unknown field "spec.foo"',
    'unknown field "spec.containers[0].bar"',
    'unknown field "spec.volumes[0].projected.sources[0].serviceAccountToken.baz"',
  ];
  const pruned = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'i' }], volumes: [{ name: 'v', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }] },
  };
  test('Strict: 400 listing every unknown and duplicate field', () => {
    rejects(
      () => checkObject(body, POD, { fieldValidation: 'Strict', duplicateFields: ['metadata.name'] }),
      400,
      `Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.name", ${unknown.join(', ')}`,
    );
  });
  const modes: [FieldValidation, string[]][] = [
    ['Warn', unknown],
    ['Ignore', []],
  ];
  for (const [mode, warnings] of modes) {
    test(`${mode}: unknown fields pruned, ${warnings.length} warnings`, () => {
      const r = checkObject(body, POD, { fieldValidation: mode });
      assert.deepEqual(r.object, pruned);
      assert.deepEqual(r.warnings, warnings);
    });
  }
  test('a type error beats strict errors', () => {
    rejects(() => checkObject({ spec: { foo: 1, hostIPC: 'x' } }, POD, { fieldValidation: 'Strict' }), 400, 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.hostIPC of type bool');
  });
});

describe('checkObject: normalization', () => {
  test('explicit nulls (kubectl 1.31) are absent; null list/map elements are zero values', () => {
    const r = checkObject(
      {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
        status: { token: '', expirationTimestamp: null },
      },
      { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
      { fieldValidation: 'Strict' },
    );
    assert.deepEqual(r.object, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: {}, status: { token: '' } });
    const p = checkObject({ metadata: { labels: { a: null } }, spec: { containers: [{ name: 'c', args: ['x', null] }] } }, POD, { fieldValidation: 'Strict' });
    assert.deepEqual(p.object, { metadata: { labels: { a: '' } }, spec: { containers: [{ name: 'c', args: ['x', ''] }] } });
  });
  test('times become UTC seconds, micro times UTC microseconds, quantities canonical', () => {
    const r = checkObject(
      {
        metadata: { creationTimestamp: '2024-05-01T14:00:00.9+02:00' },
        spec: { containers: [{ name: 'c', resources: { limits: { cpu: 0.5, memory: '2048Ki' }, requests: { cpu: '1000m' } } }] },
      },
      POD,
      { fieldValidation: 'Strict' },
    );
    assert.deepEqual(r.object, {
      metadata: { creationTimestamp: '2024-05-01T12:00:00Z' },
      spec: { containers: [{ name: 'c', resources: { limits: { cpu: '500m', memory: '2Mi' }, requests: { cpu: '1' } } }] },
    });
    const lease = checkObject({ spec: { renewTime: '2024-05-01T12:00:00.123456+01:00', leaseDurationSeconds: 15 } }, { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' }, { fieldValidation: 'Strict' });
    assert.deepEqual(lease.object, { spec: { renewTime: '2024-05-01T11:00:00.123456Z', leaseDurationSeconds: 15 } });
  });
  test('opaque fields (managedFields fieldsV1) are kept as they are', () => {
    const mf = [{ manager: 'm', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:x': {} } } }];
    assert.deepEqual(checkObject({ metadata: { managedFields: mf } }, POD, { fieldValidation: 'Strict' }).object, { metadata: { managedFields: mf } });
  });
  test('a kind without a schema is caller misuse', () => {
    assert.throws(() => checkObject({}, { group: 'apps', version: 'v1', kind: 'Deployment' }, { fieldValidation: 'Strict' }), TypeError);
  });
});

describe('findDuplicateKeys', () => {
  const cases: [string, string, string[]][] = [
    ['none', '{"a":1,"b":{"a":2}}', []],
    ['nested with indices and map keys', '{"metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}},"spec":{"containers":[{"name":"a"},{"name":"b","name":"c"}]},"spec":{}}', ['metadata.name', 'metadata.labels.x', 'spec.containers[1].name', 'spec']],
    ['escaped keys compare by value', '{"a\\u0062":1,"ab":2,"c":[1,"x",{"d":[[],{}],"d":null}]}', ['ab', 'c[2].d']],
    ['malformed text stops quietly', '{"a":1,"a"', ['a']],
    ['deep nesting does not overflow', '['.repeat(200000), []],
    ['whitespace everywhere', ' { "a" : [ { "b" : 1 , "b" : 2 } ] } ', ['a[0].b']],
  ];
  for (const [name, json, want] of cases) test(name, () => assert.deepEqual(findDuplicateKeys(json), want));
});
