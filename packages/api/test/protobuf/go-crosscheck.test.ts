// Cross-checks the field numbers against Go's own decoder: the stub answers kubectl's typed-client
// requests with objects encoded by this codec, kubectl (client-go) decodes them and prints them as JSON,
// and that JSON must equal what decodeProtobufObject makes of the same bytes. A wrong field number or
// wire type shows up as a kubectl decode error or as a value in the wrong place.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import type { KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject } from '@boundtoken/api/protobuf';
import { kubectlAvailable, runKubectl } from './kubectl-harness.ts';
import type { CapturedRequest, StubReply } from './kubectl-harness.ts';

const skip = kubectlAvailable() ? false : 'kubectl is not on PATH';
const MINOR = 32;
const RBAC = 'rbac.authorization.k8s.io';

const meta = {
  name: 'obj',
  generateName: 'obj-',
  namespace: 'default',
  selfLink: '/api/v1/x',
  uid: '6f1c1a4e-0000-4000-8000-000000000001',
  resourceVersion: '42',
  generation: 3,
  creationTimestamp: '2024-05-01T10:00:00Z',
  deletionTimestamp: '2024-05-02T11:30:15Z',
  deletionGracePeriodSeconds: 30,
  labels: { app: 'web', 'example.com/tier': 'front' },
  annotations: { note: 'caf\u00e9 \u2603' },
  ownerReferences: [
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'owner-uid', controller: true, blockOwnerDeletion: false },
  ],
  finalizers: ['example.com/cleanup'],
  managedFields: [
    {
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2024-05-01T10:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
      subresource: 'status',
    },
  ],
};

const { namespace: _namespace, ...clusterMeta } = meta;

/** Go's JSON writes null for nil pointers, slices and zero times; the codec leaves them out. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, dropNulls(v)]),
    );
  }
  return value;
}

/** The `raw` of an encoded object (its message without the envelope). */
function rawOf(obj: KubeObject): Uint8Array {
  const r = protobuf.Reader.create(encodeProtobufObject(obj).subarray(4));
  let raw: Uint8Array = new Uint8Array();
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2) raw = r.bytes();
    else r.skipType(tag & 7);
  }
  return raw;
}

/** A `<Kind>List` body: ListMeta (field 1) and the items (field 2). */
function encodeList(apiVersion: string, kind: string, items: KubeObject[]): Buffer {
  const body = protobuf.Writer.create();
  body.uint32(0x0a).bytes(new Uint8Array());
  for (const item of items) body.uint32(0x12).bytes(rawOf(item));
  const env = protobuf.Writer.create();
  env.uint32(0x0a).fork().uint32(0x0a).string(apiVersion).uint32(0x12).string(kind).ldelim();
  env.uint32(0x12).bytes(body.finish());
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), env.finish()]);
}

/** Runs kubectl; writes are answered with `answer` in protobuf. Returns kubectl's stdout. */
async function kubectl(args: string[], reply: (req: CapturedRequest) => StubReply | undefined): Promise<string> {
  const result = await runKubectl(args, MINOR, { reply });
  assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const onWrite = (obj: KubeObject) => (req: CapturedRequest) =>
  req.method === 'POST' ? { code: 201, body: encodeProtobufObject(obj) } : undefined;

interface JsonCase {
  args: string[];
  object: KubeObject;
}

const jsonCases: JsonCase[] = [
  {
    args: ['create', 'namespace', 'obj', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: clusterMeta,
      spec: { finalizers: ['kubernetes'] },
      status: {
        phase: 'Terminating',
        conditions: [{ type: 'NamespaceDeletionContentFailure', status: 'False', lastTransitionTime: '2024-05-02T11:30:16Z', reason: 'ContentDeleted', message: 'All content successfully deleted' }],
      },
    },
  },
  {
    args: ['create', 'serviceaccount', 'obj', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'ServiceAccount',
      apiVersion: 'v1',
      metadata: meta,
      secrets: [{ kind: 'Secret', namespace: 'default', name: 's', uid: 'su', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'data' }],
      imagePullSecrets: [{ name: 'registry' }],
      automountServiceAccountToken: false,
    },
  },
  {
    args: ['create', 'secret', 'generic', 'obj', '--from-literal=a=b', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: meta,
      immutable: true,
      data: { bin: Buffer.from([0, 1, 2, 254, 255]).toString('base64'), empty: '', text: Buffer.from('hello').toString('base64') },
      type: 'Opaque',
    },
  },
  {
    args: ['create', 'configmap', 'obj', '--from-literal=a=b', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: meta,
      immutable: false,
      data: { 'config.yaml': 'a: 1\n', empty: '' },
      binaryData: { blob: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') },
    },
  },
  {
    args: ['create', 'clusterrole', 'obj', '--verb=get', '--resource=pods', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'ClusterRole',
      apiVersion: `${RBAC}/v1`,
      metadata: clusterMeta,
      rules: [
        { verbs: ['get', 'list'], apiGroups: ['', 'apps'], resources: ['pods', 'deployments/scale'], resourceNames: ['a'] },
        { verbs: ['get'], nonResourceURLs: ['/healthz', '/metrics'] },
      ],
      aggregationRule: {
        clusterRoleSelectors: [
          { matchLabels: { agg: 'true' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'Exists' }] },
        ],
      },
    },
  },
  {
    args: ['create', 'clusterrolebinding', 'obj', '--clusterrole=cr', '--user=u', '-o', 'json', '--show-managed-fields'],
    object: {
      kind: 'ClusterRoleBinding',
      apiVersion: `${RBAC}/v1`,
      metadata: clusterMeta,
      subjects: [
        { kind: 'User', apiGroup: RBAC, name: 'u' },
        { kind: 'ServiceAccount', name: 'sa', namespace: 'ns1' },
      ],
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cr' },
    },
  },
  {
    args: ['create', 'token', 'default', '-o', 'json'],
    object: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'default', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
      spec: {
        audiences: ['https://kubernetes.default.svc'],
        expirationSeconds: 3607,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: 'pod-uid' },
      },
      status: { token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', expirationTimestamp: '2024-05-01T11:00:07Z' },
    },
  },
  {
    args: ['auth', 'whoami', '-o', 'json'],
    object: {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: '2024-05-01T10:00:00Z' },
      status: {
        userInfo: {
          username: 'system:serviceaccount:ns1:sa1',
          uid: 'sa-uid',
          groups: ['system:serviceaccounts', 'system:authenticated'],
          extra: { 'authentication.kubernetes.io/pod-name': ['p1'], 'authentication.kubernetes.io/credential-id': ['JTI=abc'] },
        },
      },
    },
  },
];

describe(`Go's decoder reads what the codec encodes (kubectl 1.${MINOR})`, { skip }, () => {
  for (const c of jsonCases) {
    test(`${c.object.kind}: kubectl ${c.args.join(' ')}`, async () => {
      const bytes = encodeProtobufObject(c.object);
      const ours = decodeProtobufObject(bytes);
      const printed = dropNulls(JSON.parse(await kubectl(c.args, onWrite(c.object))));
      assert.deepStrictEqual(printed, ours);
      assert.deepStrictEqual(ours, c.object); // and the codec's own round trip is lossless here
    });
  }

  test('Event (core/v1) and EventList: kubectl events -o json', async () => {
    const events: KubeObject[] = [
      {
        kind: 'Event',
        apiVersion: 'v1',
        metadata: { name: 'p1.17c', namespace: 'default', uid: 'ev-uid', resourceVersion: '9', creationTimestamp: '2024-05-01T10:00:00Z' },
        involvedObject: { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'pod-uid', apiVersion: 'v1', resourceVersion: '5', fieldPath: 'spec.containers{c}' },
        reason: 'Pulled',
        message: 'Container image "nginx" already present on machine',
        source: { component: 'kubelet', host: 'n1' },
        firstTimestamp: '2024-05-01T10:00:01Z',
        lastTimestamp: '2024-05-01T10:05:01Z',
        count: 4,
        type: 'Normal',
        eventTime: '2024-05-01T10:00:01.123456Z',
        series: { count: 3, lastObservedTime: '2024-05-01T10:05:01.000042Z' },
        action: 'Pulling',
        related: { kind: 'Node', name: 'n1', uid: 'node-uid', apiVersion: 'v1' },
        reportingComponent: 'kubelet',
        reportingInstance: 'n1',
      },
      {
        kind: 'Event',
        apiVersion: 'v1',
        metadata: { name: 'n1.1', namespace: 'default', creationTimestamp: '2024-05-01T10:00:02Z' },
        involvedObject: { kind: 'Node', name: 'n1' },
        reason: 'NodeReady',
        message: 'Node n1 status is now: NodeReady',
        source: {},
        lastTimestamp: '2024-05-01T10:00:02Z',
        type: 'Normal',
        reportingComponent: '',
        reportingInstance: '',
      },
    ];
    const list = encodeList('v1', 'EventList', events);
    const out = await kubectl(['events', '-o', 'json'], (req) =>
      req.method === 'GET' && req.path === '/api/v1/namespaces/default/events' ? { code: 200, body: list } : undefined,
    );
    const printed = dropNulls(JSON.parse(out)) as { items: KubeObject[] };
    const byName = (a: KubeObject, b: KubeObject) => String(a.metadata?.name).localeCompare(String(b.metadata?.name));
    const ours = events.map((e) => {
      const { kind: _kind, apiVersion: _apiVersion, ...rest } = decodeProtobufObject(encodeProtobufObject(e));
      return rest;
    });
    assert.deepStrictEqual(
      printed.items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest).sort(byName),
      ours.sort(byName),
    );
  });
});
