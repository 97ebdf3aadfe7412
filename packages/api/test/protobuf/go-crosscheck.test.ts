// Cross-checks the field numbers against Go's own decoder: the stub answers kubectl's typed-client
// requests with objects encoded by this codec, kubectl (client-go) decodes them and prints them as JSON,
// and that JSON must equal what decodeProtobufObject makes of the same bytes. A wrong field number or
// wire type shows up as a kubectl decode error or as a value in the wrong place.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject } from '@boundtoken/api/protobuf';
import { encodeList, LEASE, NODE, POD } from './describe-objects.ts';
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

  // kubectl describe reads Node, Lease, PodList and Pod through typed clients (protobuf).
  const nodeBytes = encodeProtobufObject(NODE);
  const podBytes = encodeProtobufObject(POD);
  const describeReplies = (req: CapturedRequest): StubReply | undefined => {
    if (req.method !== 'GET') return undefined;
    const proto = req.accept.startsWith('application/vnd.kubernetes.protobuf');
    if (req.path === '/api/v1/nodes/n1') return { code: 200, body: proto ? nodeBytes : decodeProtobufObject(nodeBytes) };
    if (req.path === '/api/v1/namespaces/default/pods/p1') return { code: 200, body: proto ? podBytes : decodeProtobufObject(podBytes) };
    if (req.path === '/api/v1/pods') return { code: 200, body: encodeList('v1', 'PodList', [POD]) };
    if (req.path.endsWith('/events')) return { code: 200, body: encodeList('v1', 'EventList', []) };
    if (req.path === '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1') {
      return { code: 200, body: encodeProtobufObject(LEASE) };
    }
    return undefined;
  };

  /** Each expected line must appear (whitespace-normalised) in kubectl's output. */
  function assertLines(output: string, expected: string[]): void {
    const lines = new Set(output.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')));
    const missing = expected.filter((l) => !lines.has(l));
    assert.deepEqual(missing, [], `missing lines in:\n${output}`);
  }

  test('Node, Lease and PodList: kubectl describe node', async () => {
    const out = await kubectl(['describe', 'node', 'n1'], describeReplies);
    assertLines(out, [
      'Name: n1',
      'Roles: worker',
      'Labels: kubernetes.io/hostname=n1',
      'Annotations: node.alpha.kubernetes.io/ttl: 0',
      'CreationTimestamp: Wed, 01 May 2024 09:00:00 +0000',
      'Taints: dedicated=gpu:NoExecute',
      'node.kubernetes.io/unschedulable:NoSchedule',
      'Unschedulable: true',
      'HolderIdentity: n1',
      'AcquireTime: Wed, 01 May 2024 09:00:00 +0000',
      'RenewTime: Wed, 01 May 2024 10:00:01 +0000',
      'MemoryPressure False Wed, 01 May 2024 10:00:00 +0000 Wed, 01 May 2024 09:00:05 +0000 KubeletHasSufficientMemory kubelet has sufficient memory available',
      'Ready True Wed, 01 May 2024 10:00:00 +0000 Wed, 01 May 2024 09:00:15 +0000 KubeletReady kubelet is posting ready status',
      'InternalIP: 172.18.0.2',
      'Hostname: n1',
      'cpu: 4',
      'ephemeral-storage: 102626232Ki',
      'memory: 16314248Ki',
      'cpu: 3500m',
      'memory: 15Gi',
      'Machine ID: machine-0001',
      'System UUID: uuid-0002',
      'Boot ID: boot-0003',
      'Kernel Version: 6.1.0-18-amd64',
      'OS Image: Debian GNU/Linux 12 (bookworm)',
      'Operating System: linux',
      'Architecture: amd64',
      'Container Runtime Version: containerd://1.7.13',
      'Kubelet Version: v1.32.4',
      'Kube-Proxy Version: v1.32.4',
      'PodCIDR: 10.244.1.0/24',
      'PodCIDRs: 10.244.1.0/24,fd00:1::/64',
      'ProviderID: kind://docker/kind/n1',
      'Non-terminated Pods: (1 in total)',
      'cpu 250m (7%) 500m (14%)',
      'memory 128Mi (0%) 256Mi (1%)',
    ]);
  });

  test('Pod: kubectl describe pod', async () => {
    const out = await kubectl(['describe', 'pod', 'p1'], describeReplies);
    assertLines(out, [
      'Name: p1',
      'Namespace: default',
      'Priority: 1000',
      'Priority Class Name: high',
      'Runtime Class Name: runc',
      'Service Account: web-sa',
      'Node: n1/172.18.0.2',
      'Start Time: Wed, 01 May 2024 09:59:01 +0000',
      'Labels: app=web',
      'Annotations: example.com/a: b',
      'Status: Running',
      'IP: 10.244.1.7',
      'IP: fd00:1::7',
      'Controlled By: ReplicaSet/web-5d',
      'Container ID: containerd://init',
      'Image: busybox:1.36',
      'Image ID: docker.io/library/busybox@sha256:def',
      'Reason: Completed',
      'Finished: Wed, 01 May 2024 09:59:02 +0000',
      'Container ID: containerd://web',
      'Image: nginx:1.27',
      'Ports: 8080/TCP, 9090/UDP',
      'Host Ports: 0/TCP, 19090/UDP',
      'SeccompProfile: RuntimeDefault',
      'daemon off;',
      'Started: Wed, 01 May 2024 09:59:03 +0000',
      'Last State: Terminated',
      'Reason: OOMKilled',
      'Message: out of memory',
      'Exit Code: 137',
      'Signal: 9',
      'Ready: False',
      'Restart Count: 2',
      'cpu: 500m',
      'memory: 256Mi',
      'cpu: 250m',
      'memory: 128Mi',
      'Liveness: http-get http://:http/healthz delay=3s timeout=2s period=10s #success=1 #failure=3',
      'Readiness: tcp-socket :8080 delay=0s timeout=1s period=5s #success=1 #failure=3',
      'Startup: exec [cat /tmp/ready] delay=0s timeout=1s period=1s #success=1 #failure=30',
      "web-env ConfigMap with prefix 'CFG_' Optional: true",
      'web-secret Secret Optional: false',
      'MODE: prod',
      'POD_IP: (v1:status.podIP)',
      'MEM_LIMIT: 256 (limits.memory)',
      "DB_USER: <set to the key 'user' of config map 'db'> Optional: false",
      "DB_PASSWORD: <set to the key 'password' in secret 'db-creds'> Optional: false",
      '/cache from cache (rw,path="web")',
      '/var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-abcde (ro)',
      '/var/run/secrets/vault from vault-token (ro)',
      'example.com/ready <none>',
      'Initialized True',
      'Ready False',
      'TokenExpirationSeconds: 3607',
      'ConfigMapName: kube-root-ca.crt',
      'DownwardAPI: true',
      'TokenExpirationSeconds: 7200',
      'Medium: Memory',
      'SizeLimit: 64Mi',
      'SecretName: db-creds',
      'Name: web-config',
      'Path: /var/log',
      'HostPathType: Directory',
      'ClaimName: web-data',
      'QoS Class: Burstable',
      'Node-Selectors: kubernetes.io/os=linux',
      'Tolerations: dedicated=gpu:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute op=Exists for 300s',
    ]);
  });
});
