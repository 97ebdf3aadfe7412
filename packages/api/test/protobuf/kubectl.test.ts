// What the real kubectl 1.32 and 1.33 send, captured on a loopback stub and decoded: every command users
// run against boundtoken that kubectl sends in protobuf decodes to the exact JSON object, and kubectl's
// own output (which echoes the decoded object back) names the object. Commands that send JSON are
// checked to still do so.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject, PROTOBUF_MEDIA_TYPE } from '@boundtoken/api/protobuf';
import { kubectlAvailable, runKubectl } from './kubectl-harness.ts';
import type { KubectlRun } from './kubectl-harness.ts';

const skip = kubectlAvailable() ? false : 'kubectl is not on PATH';

const RBAC = 'rbac.authorization.k8s.io';

interface Case {
  args: string[];
  method: string;
  path: string;
  object: KubeObject;
  /** A line kubectl prints when the echoed (decoded) object is right. */
  stdout?: string;
}

const cases: Case[] = [
  {
    args: ['create', 'token', 'default'],
    method: 'POST',
    path: '/api/v1/namespaces/default/serviceaccounts/default/token',
    object: { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: {}, status: { token: '' } },
  },
  {
    args: ['create', 'token', 'build-robot', '-n', 'ns1', '--audience', 'vault', '--audience', 'istio-ca', '--duration', '2h', '--bound-object-kind', 'Secret', '--bound-object-name', 's1', '--bound-object-uid', 'uid-1'],
    method: 'POST',
    path: '/api/v1/namespaces/ns1/serviceaccounts/build-robot/token',
    object: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: {
        audiences: ['vault', 'istio-ca'],
        expirationSeconds: 7200,
        boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's1', uid: 'uid-1' },
      },
      status: { token: '' },
    },
  },
  {
    // No UID given: kubectl sends uid "" which JSON (omitempty) drops.
    args: ['create', 'token', 'default', '--bound-object-kind', 'Node', '--bound-object-name', 'n1'],
    method: 'POST',
    path: '/api/v1/namespaces/default/serviceaccounts/default/token',
    object: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: { boundObjectRef: { kind: 'Node', apiVersion: 'v1', name: 'n1' } },
      status: { token: '' },
    },
  },
  {
    args: ['auth', 'whoami'],
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    object: { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, status: { userInfo: {} } },
  },
  {
    args: ['auth', 'can-i', 'get', 'pods'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    object: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
      status: { allowed: false },
    },
    stdout: 'no',
  },
  {
    args: ['auth', 'can-i', 'create', 'serviceaccounts', '--subresource=token', '-n', 'ns1'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    object: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'ns1', verb: 'create', resource: 'serviceaccounts', subresource: 'token' } },
      status: { allowed: false },
    },
  },
  {
    args: ['auth', 'can-i', 'get', '/healthz'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    object: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: { nonResourceAttributes: { path: '/healthz', verb: 'get' } },
      status: { allowed: false },
    },
  },
  {
    args: ['auth', 'can-i', '--list', '-n', 'ns1'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
    object: {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: { namespace: 'ns1' },
      status: { incomplete: false },
    },
  },
  {
    args: ['create', 'namespace', 'ns1'],
    method: 'POST',
    path: '/api/v1/namespaces',
    object: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'ns1' }, spec: {}, status: {} },
    stdout: 'namespace/ns1 created',
  },
  {
    args: ['create', 'serviceaccount', 'sa1'],
    method: 'POST',
    path: '/api/v1/namespaces/default/serviceaccounts',
    object: { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'sa1' } },
    stdout: 'serviceaccount/sa1 created',
  },
  {
    args: ['create', 'secret', 'generic', 's1', '--from-literal=password=s3cr\u00e9t', '--from-literal=user=admin', '--type=example.com/x'],
    method: 'POST',
    path: '/api/v1/namespaces/default/secrets',
    object: {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 's1' },
      data: { password: Buffer.from('s3cr\u00e9t').toString('base64'), user: Buffer.from('admin').toString('base64') },
      type: 'example.com/x',
    },
    stdout: 'secret/s1 created',
  },
  {
    args: ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.example', '--docker-username=u', '--docker-password=p'],
    method: 'POST',
    path: '/api/v1/namespaces/default/secrets',
    object: {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'reg' },
      data: {
        '.dockerconfigjson': Buffer.from('{"auths":{"r.example":{"username":"u","password":"p","auth":"dTpw"}}}').toString('base64'),
      },
      type: 'kubernetes.io/dockerconfigjson',
    },
    stdout: 'secret/reg created',
  },
  {
    args: ['create', 'configmap', 'cm1', '--from-literal=b=2', '--from-literal=a=1'],
    method: 'POST',
    path: '/api/v1/namespaces/default/configmaps',
    object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'cm1' }, data: { a: '1', b: '2' } },
    stdout: 'configmap/cm1 created',
  },
  {
    args: ['create', 'role', 'r1', '--verb=get,list', '--resource=pods,serviceaccounts/token', '--resource-name=p1'],
    method: 'POST',
    path: `/apis/${RBAC}/v1/namespaces/default/roles`,
    object: {
      kind: 'Role',
      apiVersion: `${RBAC}/v1`,
      metadata: { name: 'r1' },
      rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'serviceaccounts/token'], resourceNames: ['p1'] }],
    },
    stdout: `role.${RBAC}/r1 created`,
  },
  {
    args: ['create', 'clusterrole', 'cr1', '--verb=get', '--non-resource-url=/healthz'],
    method: 'POST',
    path: `/apis/${RBAC}/v1/clusterroles`,
    object: {
      kind: 'ClusterRole',
      apiVersion: `${RBAC}/v1`,
      metadata: { name: 'cr1' },
      rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }],
    },
    stdout: `clusterrole.${RBAC}/cr1 created`,
  },
  {
    args: ['create', 'clusterrole', 'agg', '--aggregation-rule=rbac.example.com/aggregate=true'],
    method: 'POST',
    path: `/apis/${RBAC}/v1/clusterroles`,
    object: {
      kind: 'ClusterRole',
      apiVersion: `${RBAC}/v1`,
      metadata: { name: 'agg' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] },
    },
    stdout: `clusterrole.${RBAC}/agg created`,
  },
  {
    args: ['create', 'rolebinding', 'rb1', '--role=r1', '--user=bob', '--serviceaccount=ns1:sa1'],
    method: 'POST',
    path: `/apis/${RBAC}/v1/namespaces/default/rolebindings`,
    object: {
      kind: 'RoleBinding',
      apiVersion: `${RBAC}/v1`,
      metadata: { name: 'rb1' },
      subjects: [
        { kind: 'User', apiGroup: RBAC, name: 'bob' },
        { kind: 'ServiceAccount', name: 'sa1', namespace: 'ns1' },
      ],
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r1' },
    },
    stdout: `rolebinding.${RBAC}/rb1 created`,
  },
  {
    args: ['create', 'clusterrolebinding', 'crb1', '--clusterrole=cr1', '--group=system:authenticated'],
    method: 'POST',
    path: `/apis/${RBAC}/v1/clusterrolebindings`,
    object: {
      kind: 'ClusterRoleBinding',
      apiVersion: `${RBAC}/v1`,
      metadata: { name: 'crb1' },
      subjects: [{ kind: 'Group', apiGroup: RBAC, name: 'system:authenticated' }],
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cr1' },
    },
    stdout: `clusterrolebinding.${RBAC}/crb1 created`,
  },
  {
    // drain without eviction deletes pods through the typed client: DeleteOptions in protobuf.
    args: ['drain', 'n1', '--disable-eviction', '--force', '--timeout=10s'],
    method: 'DELETE',
    path: '/api/v1/namespaces/default/pods/p1',
    object: { kind: 'DeleteOptions', apiVersion: 'v1' },
  },
  {
    args: ['drain', 'n1', '--disable-eviction', '--force', '--grace-period=7', '--timeout=10s'],
    method: 'DELETE',
    path: '/api/v1/namespaces/default/pods/p1',
    object: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 7 },
  },
];

/** Commands that still send JSON (unstructured objects or hand-built bodies), whatever the version. */
const jsonCases: Array<{ args: string[]; method: string; path: string; files?: Record<string, string> }> = [
  { args: ['run', 'p1', '--image=nginx'], method: 'POST', path: '/api/v1/namespaces/default/pods' },
  { args: ['delete', 'pod', 'p1', '--grace-period=5', '--wait=false'], method: 'DELETE', path: '/api/v1/namespaces/default/pods/p1' },
  // drain with eviction: the Eviction body (with its DeleteOptions) is JSON.
  { args: ['drain', 'n1', '--force', '--timeout=10s'], method: 'POST', path: '/api/v1/namespaces/default/pods/p1/eviction' },
  {
    args: ['create', '-f', 'tokenreview.yaml', '--validate=false'],
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    files: {
      'tokenreview.yaml': 'apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: abc\n  audiences: [vault]\n',
    },
  },
];

/**
 * Runs kubectl through the dispatcher. For some commands (`create rolebinding`) the dispatcher does not
 * ask /version and runs its default client; such runs report `wrongClient` and the test is skipped.
 */
async function run(args: string[], minor: number, files?: Record<string, string>): Promise<KubectlRun & { wrongClient: string }> {
  const result = await runKubectl(args, minor, files ? { files } : {});
  const other = result.writes.find((w) => !w.userAgent.startsWith(`kubectl/v1.${minor}.`));
  return { ...result, wrongClient: other ? `the kubectl dispatcher ran ${other.userAgent.split(' ')[0]} for this command` : '' };
}

for (const minor of [32, 33]) {
  describe(`kubectl 1.${minor}`, { skip }, () => {
    for (const c of cases) {
      test(`${c.args.join(' ')} → protobuf ${c.object.kind}`, async (t) => {
        const result = await run(c.args, minor);
        if (result.wrongClient) return t.skip(result.wrongClient);
        const write = result.writes.find((w) => w.method === c.method && w.path === c.path);
        assert.ok(write, `no ${c.method} ${c.path}; got ${result.writes.map((w) => `${w.method} ${w.path}`).join(', ')}\n${result.stderr}`);
        assert.match(write.userAgent, new RegExp(`^kubectl/v1\\.${minor}\\.`));
        assert.equal(write.contentType, PROTOBUF_MEDIA_TYPE);
        assert.deepStrictEqual(decodeProtobufObject(write.body), c.object);
        // Encoding the JSON form reproduces kubectl's bytes (Go's field order, zero values and all).
        assert.equal(encodeProtobufObject(c.object).toString('base64'), write.body.toString('base64'));
        if (c.stdout) assert.ok(result.stdout.split('\n').includes(c.stdout), `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
      });
    }

    for (const c of jsonCases) {
      test(`${c.args.join(' ')} → JSON`, async (t) => {
        const result = await run(c.args, minor, c.files);
        if (result.wrongClient) return t.skip(result.wrongClient);
        const write = result.writes.find((w) => w.method === c.method && w.path === c.path);
        assert.ok(write, `no ${c.method} ${c.path}; got ${result.writes.map((w) => `${w.method} ${w.path}`).join(', ')}\n${result.stderr}`);
        assert.match(write.contentType, /json/);
        assert.equal(result.writes.filter((w) => w.contentType === PROTOBUF_MEDIA_TYPE).length, 0);
      });
    }
  });
}
