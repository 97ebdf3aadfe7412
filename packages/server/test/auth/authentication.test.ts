/**
 * Who is asking, and what follows for what they may do: client certificates (CN/O), the token
 * file, no or bad credentials (401), anonymous access, impersonation, Forbidden messages, and a
 * node's view of pods and secrets (the Node authorizer through HTTPS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INVALID_TOKEN_WITH_SPACE_WARNING } from '../../src/auth/authenticate.js';
import { createCA, issueCertificate } from '../../src/pki/certs.js';
import { Client, type Response } from '../support/http.js';
import { certificateExtra, nodeManifest, podManifest, startTestServer, type TestServer } from '../support/server.js';

const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const UNAUTHORIZED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

async function whoami(c: Client, headers?: Record<string, string>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await c.post(WHOAMI, {}, headers ? { headers } : {});
  assert.equal(res.status, 201, res.text);
  return res.json().status.userInfo;
}

/** GET `path` from `ts` with a client certificate issued by a CA the server does not trust. */
async function getWithForeignCertificate(ts: TestServer, path: string, subject: { commonName: string; organizations?: string[] }): Promise<Response> {
  const otherCa = await createCA('not-the-cluster-ca');
  const pair = await issueCertificate(otherCa, { ...subject, client: true });
  const client = new Client(ts.url, { ca: ts.handle.pki.ca.certPem, cert: pair.certPem, key: pair.keyPem });
  try {
    return await client.get(path);
  } finally {
    client.close();
  }
}

describe('authentication (anonymous off)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      tokenFile: 'static-token-1,alice-t,uid-1,"g1,g2"\nstatic-token-2,solo,uid-2\nstatic-token-3,nobody-t,uid-3,"g3,system:unauthenticated"\n',
    });
  });
  after(() => ts?.close());

  test('a client certificate: CN is the user, O the groups, the certificate\'s SHA-256 the credential id', async () => {
    assert.deepEqual(await whoami(ts.admin), {
      username: 'admin',
      groups: ['system:masters', 'system:authenticated'],
      extra: certificateExtra(ts.handle.pki.admin.certPem),
    });
    const pair = await issueCertificate(ts.handle.pki.ca, { commonName: 'alice', organizations: ['dev', 'ops'], client: true });
    const alice = new Client(ts.url, { ca: ts.handle.pki.ca.certPem, cert: pair.certPem, key: pair.keyPem });
    try {
      assert.deepEqual(await whoami(alice), { username: 'alice', groups: ['dev', 'ops', 'system:authenticated'], extra: certificateExtra(pair.certPem) });
    } finally {
      alice.close();
    }
  });

  test('the Authorization header as bearertoken.go reads it', async () => {
    // the second of at most three space-separated parts is the token, the scheme in any case
    for (const authorization of ['Bearer static-token-1 extra', 'bearer static-token-1', '  BEARER static-token-1\t']) {
      assert.equal((await whoami(ts.anonymous, { authorization })).username, 'alice-t', authorization);
    }
    // two spaces before the token: no bearer token, and Kubernetes' warning, also on the 401
    const spaced = await ts.anonymous.get('/api/v1/namespaces', { authorization: 'Bearer  static-token-1' });
    assert.equal(spaced.status, 401);
    assert.deepEqual(spaced.json(), UNAUTHORIZED);
    assert.equal(spaced.headers.warning, `299 - "${INVALID_TOKEN_WITH_SPACE_WARNING}"`);
    // a tab is no separator: not a bearer token either, and no warning
    const tab = await ts.anonymous.get('/api/v1/namespaces', { authorization: 'Bearer\tstatic-token-1' });
    assert.equal(tab.status, 401);
    assert.equal(tab.headers.warning, undefined);
    // a certificate authenticates before the header is read
    const both = await ts.admin.post(WHOAMI, {}, { headers: { authorization: 'Bearer  static-token-1' } });
    assert.equal(both.status, 201);
    assert.equal(both.json().status.userInfo.username, 'admin');
    assert.equal(both.headers.warning, undefined);
  });

  test('a user in system:unauthenticated gets no system:authenticated: not from the group adder, nor impersonated', async () => {
    // without system:authenticated, whoami needs a binding of its own
    assert.equal((await ts.withToken('static-token-3').post(WHOAMI, {})).status, 403);
    const binding = await ts.admin.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'g3-basic-user' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:basic-user' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'g3' }],
    });
    assert.equal(binding.status, 201, binding.text);
    assert.deepEqual(await whoami(ts.withToken('static-token-3')), { username: 'nobody-t', uid: 'uid-3', groups: ['g3', 'system:unauthenticated'] });
    const review = await ts.admin.post('/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token: 'static-token-3' } });
    assert.equal(review.status, 201, review.text);
    assert.deepEqual(review.json().status.user, { username: 'nobody-t', uid: 'uid-3', groups: ['g3', 'system:unauthenticated'] });
    assert.deepEqual(await whoami(ts.admin, { 'impersonate-user': 'jane', 'impersonate-group': 'g3,system:unauthenticated' }), {
      username: 'jane',
      groups: ['g3', 'system:unauthenticated'],
    });
  });

  test('a certificate from another CA authenticates nobody', async () => {
    const res = await getWithForeignCertificate(ts, '/api/v1/namespaces', { commonName: 'admin', organizations: ['system:masters'] });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), UNAUTHORIZED);
  });

  test('--token-auth-file tokens: user, uid, groups', async () => {
    assert.deepEqual(await whoami(ts.withToken('static-token-1')), { username: 'alice-t', uid: 'uid-1', groups: ['g1', 'g2', 'system:authenticated'] });
    assert.deepEqual(await whoami(ts.withToken('static-token-2')), { username: 'solo', uid: 'uid-2', groups: ['system:authenticated'] });
  });

  test('no credentials, a bad bearer token, or another scheme: 401 Unauthorized', async () => {
    for (const [what, client, headers] of [
      ['nothing', ts.anonymous, {}],
      ['an unknown token', ts.withToken('not-a-token'), {}],
      ['a token that looks like a JWT', ts.withToken('eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln'), {}],
      ['basic auth', ts.anonymous, { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ] as const) {
      for (const path of ['/api/v1/namespaces', '/version', '/.well-known/openid-configuration']) {
        const res = await client.get(path, headers);
        assert.equal(res.status, 401, `${what} ${path}`);
        assert.deepEqual(res.json(), UNAUTHORIZED);
      }
    }
  });

  test('a user without rights: 403 with Kubernetes\' message', async () => {
    const bob = await ts.asUser('bob');
    const list = await bob.get('/api/v1/namespaces/default/pods');
    assert.equal(list.status, 403);
    assert.deepEqual(list.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    const get = await bob.get('/apis/rbac.authorization.k8s.io/v1/clusterroles/admin');
    assert.equal(get.status, 403);
    assert.equal(get.json().message, 'clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "bob" cannot get resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope');
    assert.deepEqual(get.json().details, { name: 'admin', group: 'rbac.authorization.k8s.io', kind: 'clusterroles' });
    const create = await bob.post('/api/v1/namespaces/default/configmaps', { metadata: { name: 'by-bob' } });
    assert.equal(create.status, 403);
    assert.equal((await ts.admin.get('/api/v1/namespaces/default/configmaps/by-bob')).status, 404);
    // discovery and whoami are everyone's
    assert.equal((await bob.get('/api')).status, 200);
    assert.equal((await bob.get('/version')).status, 200);
    assert.equal((await whoami(bob)).username, 'bob');
  });

  test('impersonation by the admin: user, groups, uid, extras, service accounts', async () => {
    assert.deepEqual(await whoami(ts.admin, { 'impersonate-user': 'jane', 'impersonate-group': 'g1', 'impersonate-uid': 'jane-uid', 'impersonate-extra-scopes': 'view' }), {
      username: 'jane',
      uid: 'jane-uid',
      groups: ['g1', 'system:authenticated'],
      extra: { scopes: ['view'] },
    });
    assert.deepEqual(await whoami(ts.admin, { 'impersonate-user': 'system:serviceaccount:kube-system:robot' }), {
      username: 'system:serviceaccount:kube-system:robot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
    });
    // given groups are the authority: a service account's own are not added (kubectl --as … --as-group foo)
    assert.deepEqual(await whoami(ts.admin, { 'impersonate-user': 'system:serviceaccount:default:sa1', 'impersonate-group': 'foo' }), {
      username: 'system:serviceaccount:default:sa1',
      groups: ['foo', 'system:authenticated'],
    });

    // the impersonated user's rights apply
    const asJane = await ts.admin.get('/api/v1/namespaces/default/pods', { 'impersonate-user': 'jane' });
    assert.equal(asJane.status, 403);
    assert.equal(asJane.json().message, 'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
  });

  test('impersonation by a user without the impersonate verb: 403', async () => {
    const bob = await ts.asUser('bob');
    const res = await bob.post(WHOAMI, {}, { headers: { 'impersonate-user': 'admin' } });
    assert.equal(res.status, 403);
    assert.deepEqual(res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'users "admin" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope',
      reason: 'Forbidden',
      details: { name: 'admin', kind: 'users' },
      code: 403,
    });
    const sa = await bob.post(WHOAMI, {}, { headers: { 'impersonate-user': 'system:serviceaccount:kube-system:robot' } });
    assert.equal(sa.status, 403);
    assert.equal(sa.json().message, 'serviceaccounts "robot" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"');
    const groups = await bob.post(WHOAMI, {}, { headers: { 'impersonate-user': 'bob', 'impersonate-group': 'system:masters' } });
    assert.equal(groups.status, 403);
  });

  test('a user granted impersonate through RBAC may impersonate', async () => {
    await ts.admin.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: 'impersonate-jane' },
      rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['jane'] }],
    });
    await ts.admin.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'carol-impersonates-jane' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'impersonate-jane' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'carol' }],
    });
    const carol = await ts.asUser('carol');
    assert.equal((await whoami(carol, { 'impersonate-user': 'jane' })).username, 'jane');
    const other = await carol.post(WHOAMI, {}, { headers: { 'impersonate-user': 'joe' } });
    assert.equal(other.status, 403);
  });
});

describe('a node\'s view (Node authorizer)', () => {
  let ts: TestServer;
  let n1: Client;
  let ns: string;
  before(async () => {
    ts = await startTestServer();
    ns = await ts.namespace('nodeview');
    for (const n of ['n1', 'n2']) await ts.admin.post('/api/v1/nodes', nodeManifest(n));
    for (const [pod, node, secret] of [['on-n1', 'n1', 's1'], ['on-n2', 'n2', 's2']] as const) {
      await ts.admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: secret }, stringData: { k: 'v' } });
      const res = await ts.admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest(pod, { nodeName: node, spec: { volumes: [{ name: 's', secret: { secretName: secret } }] } }));
      assert.equal(res.status, 201, res.text);
    }
    n1 = await ts.asUser('system:node:n1', ['system:nodes']);
  });
  after(() => ts?.close());

  test('may list its own pods with fieldSelector=spec.nodeName=n1', async () => {
    const res = await n1.get('/api/v1/pods?fieldSelector=spec.nodeName%3Dn1');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json().items.map((p: { metadata: { name: string } }) => p.metadata.name), ['on-n1']);
  });

  test('may not list all pods, nor another node\'s', async () => {
    for (const path of ['/api/v1/pods', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn2', `/api/v1/namespaces/${ns}/pods`]) {
      const res = await n1.get(path);
      assert.equal(res.status, 403, path);
      assert.equal(res.json().reason, 'Forbidden');
      assert.match(res.json().message, /^pods is forbidden: User "system:node:n1" cannot list resource "pods" in API group ""/);
    }
  });

  test('may read its pod\'s secret, not another node\'s pod or secret', async () => {
    assert.equal((await n1.get(`/api/v1/namespaces/${ns}/pods/on-n1`)).status, 200);
    assert.equal((await n1.get(`/api/v1/namespaces/${ns}/secrets/s1`)).status, 200);
    const pod = await n1.get(`/api/v1/namespaces/${ns}/pods/on-n2`);
    assert.equal(pod.status, 403);
    assert.match(pod.json().message, new RegExp(`^pods "on-n2" is forbidden: User "system:node:n1" cannot get resource "pods" in API group "" in the namespace "${ns}"`));
    const secret = await n1.get(`/api/v1/namespaces/${ns}/secrets/s2`);
    assert.equal(secret.status, 403);
    assert.match(secret.json().message, new RegExp(`^secrets "s2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "${ns}"`));
  });

  test('its own Node object yes, another node\'s status no', async () => {
    assert.equal((await n1.get('/api/v1/nodes/n1')).status, 200);
    const other = await n1.patch('/api/v1/nodes/n2/status', { status: { conditions: [] } }, 'application/merge-patch+json');
    assert.equal(other.status, 403, other.text);
  });
});

describe('anonymous access on', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ flags: { anonymousAuth: true } });
  });
  after(() => ts?.close());

  test('resources are 403 for system:anonymous', async () => {
    const res = await ts.anonymous.get('/api/v1/namespaces');
    assert.equal(res.status, 403);
    assert.equal(res.json().message, 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope');
  });

  test('OIDC discovery, /version and health are readable', async () => {
    const config = await ts.anonymous.get('/.well-known/openid-configuration');
    assert.equal(config.status, 200, config.text);
    assert.equal(JSON.parse(config.text).issuer, 'https://kubernetes.default.svc.cluster.local');
    assert.equal((await ts.anonymous.get('/openid/v1/jwks')).status, 200);
    assert.equal((await ts.anonymous.get('/version')).status, 200);
    assert.equal((await ts.anonymous.get('/healthz')).status, 200);
  });

  test('a client certificate from another CA is 401, not anonymous', async () => {
    const res = await getWithForeignCertificate(ts, '/.well-known/openid-configuration', { commonName: 'mallory' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), UNAUTHORIZED);
  });

  test('an Authorization header that is no bearer token is no credential: anonymous', async () => {
    for (const authorization of ['Basic YWRtaW46YWRtaW4=', 'Bearer  two-spaces']) {
      const res = await ts.anonymous.get('/api/v1/namespaces', { authorization });
      assert.equal(res.status, 403, authorization);
      assert.match(res.json().message, /User "system:anonymous" cannot list/);
    }
  });

  test('a bad bearer token is still 401, not anonymous', async () => {
    const res = await ts.withToken('bogus').get('/.well-known/openid-configuration');
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), UNAUTHORIZED);
  });
});
