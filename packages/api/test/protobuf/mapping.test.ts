// The JSON mapping rules, one by one, and encodeProtobufObject's checks of its input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import type { KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject, protobufKinds } from '@boundtoken/api/protobuf';
import { LEASE, NODE, POD } from './describe-objects.ts';

const roundTrip = (obj: KubeObject): KubeObject => decodeProtobufObject(encodeProtobufObject(obj));

/** A body built field by field, for inputs the encoder would never produce. */
function body(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).fork().uint32(0x0a).string(apiVersion).uint32(0x12).string(kind).ldelim();
  w.uint32(0x12).bytes(raw);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), w.finish()]);
}
const msg = (build: (w: protobuf.Writer) => void): Uint8Array => {
  const w = protobuf.Writer.create();
  build(w);
  return w.finish();
};

describe('round trips', () => {
  for (const obj of [POD, NODE, LEASE]) {
    test(`${obj.kind} survives encode → decode unchanged`, () => assert.deepStrictEqual(roundTrip(obj), obj));
  }

  test('every kind decodes its own zero object', () => {
    for (const gvk of protobufKinds()) {
      const [apiVersion, kind] = gvk.split(', Kind=') as [string, string];
      const obj = roundTrip({ apiVersion, kind });
      assert.equal(obj.kind, kind);
      assert.equal(obj.apiVersion, apiVersion);
    }
  });

  test('protobufKinds lists what kubectl sends', () => {
    const kinds = protobufKinds();
    for (const k of [
      'authentication.k8s.io/v1, Kind=TokenRequest',
      'authentication.k8s.io/v1, Kind=TokenReview',
      'authentication.k8s.io/v1, Kind=SelfSubjectReview',
      'authentication.k8s.io/v1beta1, Kind=SelfSubjectReview',
      'authorization.k8s.io/v1, Kind=SelfSubjectAccessReview',
      'authorization.k8s.io/v1, Kind=SelfSubjectRulesReview',
      'authorization.k8s.io/v1, Kind=SubjectAccessReview',
      'v1, Kind=Namespace',
      'v1, Kind=ServiceAccount',
      'v1, Kind=Secret',
      'v1, Kind=ConfigMap',
      'v1, Kind=Pod',
      'v1, Kind=Node',
      'v1, Kind=Event',
      'v1, Kind=DeleteOptions',
      'rbac.authorization.k8s.io/v1, Kind=RoleBinding',
      'coordination.k8s.io/v1, Kind=Lease',
    ]) {
      assert.ok(kinds.includes(k), k);
    }
  });
});

describe('JSON mapping', () => {
  test('zero values: omitempty drops them, fields without omitempty keep them, pointers keep them', () => {
    const obj = roundTrip({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: '', generation: 0, labels: {}, finalizers: [] },
      spec: { audiences: [], expirationSeconds: 0 },
      status: { token: '' },
    });
    assert.deepStrictEqual(obj, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: { expirationSeconds: 0 },
      status: { token: '' },
    });
    assert.deepStrictEqual(roundTrip({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' }).status, { allowed: false });
    assert.deepStrictEqual(roundTrip({ apiVersion: 'v1', kind: 'ServiceAccount', automountServiceAccountToken: false }), {
      kind: 'ServiceAccount',
      apiVersion: 'v1',
      metadata: {},
      automountServiceAccountToken: false,
    });
  });

  test('plain structs always appear, pointers only when sent', () => {
    assert.deepStrictEqual(roundTrip({ apiVersion: 'v1', kind: 'Event' }), {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: {},
      involvedObject: {},
      source: {},
      reportingComponent: '',
      reportingInstance: '',
    });
  });

  test('times: RFC 3339 in UTC, seconds for Time, microseconds for MicroTime; zero time is left out', () => {
    const lease = roundTrip({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { creationTimestamp: '2024-05-01T12:00:00.999+02:00' },
      spec: { acquireTime: '1970-01-01T00:00:00Z', renewTime: '2024-05-01T10:00:00.123456789Z' },
    });
    assert.deepStrictEqual(lease.metadata, { creationTimestamp: '2024-05-01T10:00:00Z' });
    assert.deepStrictEqual(lease.spec, { acquireTime: '1970-01-01T00:00:00.000000Z', renewTime: '2024-05-01T10:00:00.123456Z' });
  });

  test('an empty Time message is the zero time; seconds 0 is the epoch', () => {
    const meta = (time: Uint8Array) => msg((w) => w.uint32(0x0a).bytes(msg((m) => m.uint32(0x42).bytes(time))));
    const zero = decodeProtobufObject(body('v1', 'Namespace', meta(new Uint8Array())));
    assert.deepStrictEqual(zero.metadata, {});
    const epoch = decodeProtobufObject(body('v1', 'Namespace', meta(msg((t) => t.uint32(0x08).int64(0)))));
    assert.deepStrictEqual(epoch.metadata, { creationTimestamp: '1970-01-01T00:00:00Z' });
    const early = decodeProtobufObject(body('v1', 'Namespace', meta(msg((t) => t.uint32(0x08).int64(-62135596800)))));
    assert.deepStrictEqual(early.metadata, { creationTimestamp: '0001-01-01T00:00:00Z' });
    // nanos outside [0, 1e9) carry into the seconds, as time.Unix does
    const carry = decodeProtobufObject(body('v1', 'Namespace', meta(msg((t) => t.uint32(0x08).int64(59).uint32(0x10).int32(1_500_000_000)))));
    assert.deepStrictEqual(carry.metadata, { creationTimestamp: '1970-01-01T00:01:00Z' });
  });

  test('bytes are base64; map keys come out sorted', () => {
    const secret = roundTrip({
      apiVersion: 'v1',
      kind: 'Secret',
      data: { z: Buffer.from([0xff]).toString('base64'), a: '' },
      stringData: { b: 'x', a: 'y' },
    });
    assert.deepStrictEqual(Object.keys(secret.data as object), ['a', 'z']);
    assert.deepStrictEqual(secret.data, { a: '', z: '/w==' });
    assert.deepStrictEqual(Object.keys(secret.stringData as object), ['a', 'b']);
  });

  test('IntOrString is a number or a string; Quantity is a string', () => {
    const pod = roundTrip({
      apiVersion: 'v1',
      kind: 'Pod',
      spec: {
        containers: [
          {
            name: 'c',
            livenessProbe: { httpGet: { port: 8080 } },
            readinessProbe: { tcpSocket: { port: 'http' } },
            env: [{ name: 'M', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } }],
            resources: { limits: { memory: '1.5Gi', cpu: '1e3' }, requests: { cpu: 0.5 } },
          },
        ],
      },
    });
    const c = (pod.spec as { containers: Array<Record<string, unknown>> }).containers[0]!;
    assert.deepStrictEqual(c.livenessProbe, { httpGet: { port: 8080 } });
    assert.deepStrictEqual(c.readinessProbe, { tcpSocket: { port: 'http' } });
    // A plain (non-pointer) Quantity is written by Go even when zero: "0".
    assert.deepStrictEqual(c.env, [{ name: 'M', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '0' } } }]);
    // Go's Quantity also reads a JSON number.
    assert.deepStrictEqual(c.resources, { limits: { cpu: '1e3', memory: '1.5Gi' }, requests: { cpu: '0.5' } });
  });

  test('inline structs merge into their parent (Volume, ConfigMapKeySelector, Probe)', () => {
    const pod = roundTrip({
      apiVersion: 'v1',
      kind: 'Pod',
      spec: { volumes: [{ name: 'cfg', configMap: { name: 'app' } }], containers: [] },
    });
    assert.deepStrictEqual(pod.spec, { volumes: [{ name: 'cfg', configMap: { name: 'app' } }] });
  });

  test('extra values are string arrays; FieldsV1 is raw JSON', () => {
    const sar = roundTrip({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'u', extra: { scopes: ['a', 'b'], empty: [] } },
    });
    assert.deepStrictEqual(sar.spec, { user: 'u', extra: { empty: [], scopes: ['a', 'b'] } });
    const cm = roundTrip({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }] },
    });
    assert.deepStrictEqual(cm.metadata, { managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }] });
  });

  test('nulls in the input mean "not set" (kubectl 1.31 JSON style)', () => {
    const obj = roundTrip({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { creationTimestamp: null } as unknown as KubeObject['metadata'],
      spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
      status: { token: '', expirationTimestamp: null },
    });
    assert.deepStrictEqual(obj, emptyTokenRequest);
  });

  test('the encoder writes every plain field, as Go does (kubectl create token bytes)', () => {
    assert.equal(
      encodeProtobufObject(emptyTokenRequest).toString('base64'),
      'azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIaChAKABIAGgAiACoAMgA4AEIAEgAaBAoAEgAaACIA',
    );
  });
});

const emptyTokenRequest: KubeObject = {
  kind: 'TokenRequest',
  apiVersion: 'authentication.k8s.io/v1',
  metadata: {},
  spec: {},
  status: { token: '' },
};

describe('encodeProtobufObject refuses misuse with TypeError', () => {
  const cases: Array<{ name: string; obj: unknown; message: RegExp }> = [
    { name: 'not an object', obj: 'x', message: /must be an object/ },
    { name: 'no kind', obj: { apiVersion: 'v1' }, message: /apiVersion and obj.kind must be strings/ },
    { name: 'unknown kind', obj: { apiVersion: 'apps/v1', kind: 'Deployment' }, message: /no protobuf message for apps\/v1, Kind=Deployment/ },
    { name: 'unknown field', obj: { apiVersion: 'v1', kind: 'Secret', dta: {} }, message: /unknown field dta/ },
    { name: 'unknown nested field', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { nam: 'x' } }, message: /unknown field metadata\.nam/ },
    { name: 'unmodelled Pod field', obj: { apiVersion: 'v1', kind: 'Pod', spec: { affinity: {} } }, message: /unknown field spec\.affinity/ },
    { name: 'string for an int', obj: { apiVersion: 'v1', kind: 'Event', count: '3' }, message: /count must be an int32/ },
    { name: 'int32 overflow', obj: { apiVersion: 'v1', kind: 'Event', count: 2 ** 31 }, message: /count must be an int32/ },
    { name: 'bad base64', obj: { apiVersion: 'v1', kind: 'Secret', data: { a: 'not base64!' } }, message: /data\[a\] must be a base64 string/ },
    { name: 'bad time', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { creationTimestamp: 'yesterday' } }, message: /RFC 3339/ },
    { name: 'impossible date', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { creationTimestamp: '2024-02-30T00:00:00Z' } }, message: /RFC 3339/ },
    { name: 'bad quantity', obj: { apiVersion: 'v1', kind: 'Node', status: { capacity: { cpu: 'lots' } } }, message: /quantity/ },
    { name: 'list expected', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { finalizers: 'x' } }, message: /must be an array/ },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => encodeProtobufObject(c.obj as KubeObject), (err: unknown) => err instanceof TypeError && c.message.test(err.message)));
  }
});
