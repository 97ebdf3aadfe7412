/**
 * TokenReview and the service account token authenticator (reference/k8s-server.md §4–§5): the
 * authenticated user with groups and extras, audiences, time, the bound-object rules (deleted,
 * being deleted for more than 60 s, recreated), legacy secret-based tokens, SelfSubjectReview,
 * and the forged/malformed token corpus.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeProtobufObject } from '@boundtoken/api/protobuf';
import { createSigner, loadSigningKey } from '@boundtoken/token';
import { forgedTokenCorpus } from '@boundtoken/token/testing';
import type { Client } from '../support/http.js';
import { certificateExtra, jwtPayload, nodeManifest, podManifest, startTestServer, waitFor, type TestServer } from '../support/server.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const EXTRA = 'authentication.kubernetes.io';

let ts: TestServer;
let admin: Client;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
});
after(() => ts?.close());

interface Review {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function review(token: string, audiences?: string[]): Promise<Review> {
  const res = await admin.post(REVIEWS, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } });
  return { status: res.status, body: res.json() };
}

/** The review's error (and that it is not authenticated). */
async function rejected(token: string, audiences?: string[]): Promise<string> {
  const r = await review(token, audiences);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status.authenticated, undefined, JSON.stringify(r.body.status));
  assert.deepEqual(r.body.status.user, {});
  return r.body.status.error;
}

async function accepted(token: string, audiences?: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await review(token, audiences);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status.authenticated, true, JSON.stringify(r.body.status));
  return r.body.status;
}

async function mint(ns: string, sa: string, spec: object = {}): Promise<string> {
  const res = await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { spec });
  assert.equal(res.status, 201, res.text);
  return res.json().status.token;
}

async function uidOf(path: string): Promise<string> {
  const res = await admin.get(path);
  assert.equal(res.status, 200, res.text);
  return res.json().metadata.uid;
}

/** Rewrites a stored object directly (what a client can never do: server-owned fields). */
async function plant(key: string, change: (obj: any) => void): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const current = await ts.handle.store.get(key);
  assert.ok(current, key);
  const obj = structuredClone(current.value);
  change(obj);
  const v = await ts.handle.store.update(key, obj, current.revision);
  await waitFor(`the cache to see ${key}`, () => ts.handle.registry.cache(key.split('/')[2]!).revision >= v.revision);
}

function ago(seconds: number): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000 - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Mints a token with the server's clock set `offsetSeconds` from now (negative: in the past). */
async function mintAt(t: TestContext, offsetSeconds: number, ns: string, spec: object): Promise<string> {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + offsetSeconds * 1000 });
  try {
    return await mint(ns, 'default', spec);
  } finally {
    t.mock.timers.reset();
  }
}

describe('TokenReview', () => {
  test('a pod-bound token: user, groups, extras (pod, node, credential id) and audiences', async () => {
    const ns = await ts.namespace('review');
    const nodeName = `review-node-${process.pid}`;
    const node = (await admin.post('/api/v1/nodes', nodeManifest(nodeName))).json();
    const pod = (await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName }))).json();
    const saUid = await uidOf(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: pod.metadata.uid } });
    const r = await review(token);
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token },
      status: {
        authenticated: true,
        user: {
          username: `system:serviceaccount:${ns}:default`,
          uid: saUid,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
          extra: {
            [`${EXTRA}/credential-id`]: [`JTI=${jwtPayload(token).jti}`],
            [`${EXTRA}/node-name`]: [nodeName],
            [`${EXTRA}/node-uid`]: [node.metadata.uid],
            [`${EXTRA}/pod-name`]: ['p'],
            [`${EXTRA}/pod-uid`]: [pod.metadata.uid],
          },
        },
        audiences: [ISSUER],
      },
    });
    // the extras in Go's map order: sorted
    assert.deepEqual(Object.keys(r.body.status.user.extra), [
      `${EXTRA}/credential-id`,
      `${EXTRA}/node-name`,
      `${EXTRA}/node-uid`,
      `${EXTRA}/pod-name`,
      `${EXTRA}/pod-uid`,
    ]);
  });

  test('audiences: the intersection with the request, in its order; none in common is an error', async () => {
    const ns = await ts.namespace('auds');
    const token = await mint(ns, 'default', { audiences: ['a', 'b'] });
    assert.deepEqual((await accepted(token, ['c', 'b', 'a'])).audiences, ['b', 'a']);
    assert.equal(await rejected(token, ['c']), 'token audiences ["a" "b"] is invalid for the target audiences ["c"]');
    assert.equal(await rejected(token), `token audiences ["a" "b"] is invalid for the target audiences ["${ISSUER}"]`);
  });

  test('time: expired past the 60 s leeway is rejected, within it accepted; not yet valid is rejected', async (t) => {
    const ns = await ts.namespace('times');
    const expired = await mintAt(t, -700, ns, { expirationSeconds: 600 });
    assert.equal(await rejected(expired), 'service account token has expired');
    const inLeeway = await mintAt(t, -640, ns, { expirationSeconds: 600 });
    await accepted(inLeeway);
    const future = await mintAt(t, 120, ns, { expirationSeconds: 600 });
    assert.equal(await rejected(future), 'service account token is not valid yet');
  });

  test('the same token reviewed again and again: each answer echoes its own spec (as Go writes it), until the token stops authenticating', async () => {
    const ns = await ts.namespace('again');
    const pod = (await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }))).json();
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: pod.metadata.uid } });
    const other = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: pod.metadata.uid } });
    // the API audiences given, defaulted or empty are one cached result, answered with different specs
    const specs: object[] = [
      { token },
      { token },
      { token },
      { token, audiences: [ISSUER] },
      { audiences: [ISSUER], token },
      { token },
      { token, audiences: [] },
      { token: other },
      { token },
      { token: other },
    ];
    for (const spec of specs) {
      const res = await admin.post(REVIEWS, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec });
      assert.equal(res.status, 201, res.text);
      const body = res.json();
      // the spec as sent, in Go's field order (token, audiences), empty audiences left out, and nothing else changed
      const { token: t, audiences } = spec as { token: string; audiences?: string[] };
      const asGo = audiences && audiences.length > 0 ? { token: t, audiences } : { token: t };
      assert.equal(res.text, JSON.stringify({ ...body, spec: asGo }));
      assert.deepEqual(Object.keys(body.spec), Object.keys(asGo));
      assert.equal(body.status.authenticated, true);
      assert.deepEqual(body.status.audiences, [ISSUER]);
    }
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/pods/p`)).status, 200);
    assert.equal(await rejected(token), 'service account token has been invalidated');
    assert.equal(await rejected(token), 'service account token has been invalidated');
  });

  test('a token no authenticator knows: invalid bearer token', async () => {
    assert.equal(await rejected('not-a-jwt'), 'invalid bearer token');
  });

  test('the token is read as `Authorization: Bearer <token>` would be (tokenreview/storage.go)', async () => {
    const ns = await ts.namespace('spaces');
    const token = await mint(ns, 'default');
    // white space around it is trimmed, and what follows a space is not the token
    for (const sent of [`${token}\n`, `${token} `, `${token}\r\n\t`, `${token} and more`]) {
      const r = await review(sent);
      assert.equal(r.status, 201);
      assert.equal(r.body.status.authenticated, true, JSON.stringify(sent));
      assert.equal(r.body.status.user.username, `system:serviceaccount:${ns}:default`);
      // the spec as sent
      assert.equal(r.body.spec.token, sent);
    }
    // a space before it: no bearer token at all, which is not authenticated, with no error (and
    // no warning: the fake request of storage.go has no warning recorder)
    for (const sent of [` ${token}`, '   ']) {
      const res = await admin.post(REVIEWS, { spec: { token: sent } });
      assert.equal(res.status, 201);
      assert.deepEqual(res.json().status, { user: {} }, JSON.stringify(sent));
      assert.equal(res.json().spec.token, sent);
      assert.equal(res.headers.warning, undefined);
    }
    // a tab before it is part of the token, which is then refused
    assert.equal(typeof (await rejected(`\t${token}`)), 'string');
  });

  test('the request\'s metadata is answered back, as the create handler leaves it, in Go\'s order', async () => {
    const ns = await ts.namespace('meta');
    const token = await mint(ns, 'default');
    const res = await admin.post(REVIEWS, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      metadata: {
        annotations: { 'z.example.com/b': 'two', 'a.example.com/a': 'one' },
        labels: { b: '2', a: '1' },
        finalizers: ['example.com/f'],
        // wiped (WipeObjectMetaSystemFields), or cleared for a cluster-scoped kind
        uid: 'given-uid',
        creationTimestamp: '2020-01-02T03:04:05Z',
        namespace: 'elsewhere',
        generateName: 'review-',
        name: 'my-review',
      },
      spec: { audiences: [], token },
    });
    assert.equal(res.status, 201, res.text);
    const body = res.json();
    assert.equal(body.status.authenticated, true);
    assert.equal(
      JSON.stringify(body.metadata),
      '{"name":"my-review","generateName":"review-","creationTimestamp":null,"labels":{"a":"1","b":"2"},"annotations":{"a.example.com/a":"one","z.example.com/b":"two"},"finalizers":["example.com/f"]}',
    );
    assert.equal(JSON.stringify(body.spec), JSON.stringify({ token }));
    // an unauthenticated review answers it too
    const bad = await admin.post(REVIEWS, { metadata: { name: 'bad', labels: { x: 'y' } }, spec: { token: 'not-a-jwt', audiences: ['a', 'b'] } });
    assert.equal(bad.status, 201, bad.text);
    assert.equal(bad.text, '{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"name":"bad","creationTimestamp":null,"labels":{"x":"y"}},"spec":{"token":"not-a-jwt","audiences":["a","b"]},"status":{"user":{},"error":"invalid bearer token"}}');
  });

  test('an empty token is 400; a namespace is 400', async () => {
    const empty = await admin.post(REVIEWS, { spec: { token: '' } });
    assert.equal(empty.status, 400);
    assert.equal(empty.json().message, 'token is required for TokenReview in authentication');
    const none = await admin.post(REVIEWS, { spec: {} });
    assert.equal(none.status, 400);
    const namespaced = await admin.post('/apis/authentication.k8s.io/v1/namespaces/default/tokenreviews', { spec: { token: 'x' } });
    assert.equal(namespaced.status, 400);
    assert.equal(namespaced.json().message, 'namespace is not allowed on this type: default');
  });

  test('only create is served: 405 for other methods, 404 for paths with no route', async () => {
    const res = await admin.get(REVIEWS);
    assert.equal(res.status, 405);
    assert.equal(res.json().message, 'the server does not allow this method on the requested resource');
    assert.deepEqual(res.json().details, {});
    for (const r of [await admin.get(`${REVIEWS}/foo`), await admin.post(`${REVIEWS}/foo`, { spec: { token: 'x' } }), await admin.get('/apis/authentication.k8s.io/v1/watch/tokenreviews')]) {
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json().message, 'the server could not find the requested resource');
    }
  });
});

describe('bound objects', () => {
  test('pod deleted: rejected at once; pod recreated with the same name: uid mismatch', async () => {
    const ns = await ts.namespace('poddel');
    const pod = (await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }))).json();
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
    await accepted(token);
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/pods/p`)).status, 200);
    assert.equal(await rejected(token), 'service account token has been invalidated');
    const again = (await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }))).json();
    assert.equal(await rejected(token), `pod UID (${again.metadata.uid}) does not match service account pod ref claim (${pod.metadata.uid})`);
  });

  test('pod being deleted: valid until 60 s after its deletionTimestamp, then rejected', async () => {
    const ns = await ts.namespace('podgrace');
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' }, metadata: { finalizers: ['example.com/hold'] } }));
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
    await admin.delete(`/api/v1/namespaces/${ns}/pods/p`);
    assert.ok((await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).json().metadata.deletionTimestamp);
    await accepted(token);
    await plant(`/registry/pods/${ns}/p`, (p) => (p.metadata.deletionTimestamp = ago(57)));
    await accepted(token);
    await plant(`/registry/pods/${ns}/p`, (p) => (p.metadata.deletionTimestamp = ago(63)));
    assert.equal(await rejected(token), 'service account token has been invalidated');
  });

  test('service account deleted, then recreated', async () => {
    const ns = await ts.namespace('sadel');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } });
    const oldUid = await uidOf(`/api/v1/namespaces/${ns}/serviceaccounts/robot`);
    const token = await mint(ns, 'robot');
    await accepted(token);
    await admin.delete(`/api/v1/namespaces/${ns}/serviceaccounts/robot`);
    assert.equal(await rejected(token), 'serviceaccounts "robot" not found');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } });
    const newUid = await uidOf(`/api/v1/namespaces/${ns}/serviceaccounts/robot`);
    assert.equal(await rejected(token), `service account UID (${newUid}) does not match claim (${oldUid})`);
  });

  test('service account being deleted for more than 60 s', async () => {
    const ns = await ts.namespace('sagrace');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot', finalizers: ['example.com/hold'] } });
    const token = await mint(ns, 'robot');
    await admin.delete(`/api/v1/namespaces/${ns}/serviceaccounts/robot`);
    await accepted(token);
    await plant(`/registry/serviceaccounts/${ns}/robot`, (sa) => (sa.metadata.deletionTimestamp = ago(90)));
    assert.equal(await rejected(token), `service account ${ns}/robot has been deleted`);
  });

  test('secret-bound: deleted, then recreated', async () => {
    const ns = await ts.namespace('secretbound');
    const s = (await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'anchor' } })).json();
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'anchor' } });
    const status = await accepted(token);
    assert.deepEqual(Object.keys(status.user.extra), [`${EXTRA}/credential-id`]);
    await admin.delete(`/api/v1/namespaces/${ns}/secrets/anchor`);
    assert.equal(await rejected(token), 'service account token has been invalidated');
    const again = (await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'anchor' } })).json();
    assert.equal(await rejected(token), `secret UID (${again.metadata.uid}) does not match service account secret ref claim (${s.metadata.uid})`);
  });

  test('node-bound: node extras; deleted, then recreated', async () => {
    const ns = await ts.namespace('nodebound');
    const nodeName = `bound-node-${process.pid}`;
    const node = (await admin.post('/api/v1/nodes', nodeManifest(nodeName))).json();
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Node', apiVersion: 'v1', name: nodeName } });
    const status = await accepted(token);
    assert.deepEqual(status.user.extra[`${EXTRA}/node-name`], [nodeName]);
    assert.deepEqual(status.user.extra[`${EXTRA}/node-uid`], [node.metadata.uid]);
    assert.deepEqual(Object.keys(status.user.extra), [`${EXTRA}/credential-id`, `${EXTRA}/node-name`, `${EXTRA}/node-uid`]);
    await admin.delete(`/api/v1/nodes/${nodeName}`);
    assert.equal(await rejected(token), 'service account token has been invalidated');
    const again = (await admin.post('/api/v1/nodes', nodeManifest(nodeName))).json();
    assert.equal(await rejected(token), `node UID (${again.metadata.uid}) does not match service account node ref claim (${node.metadata.uid})`);
  });

  test('a pod-bound token does not depend on its node (the node claim is informational)', async () => {
    const ns = await ts.namespace('podnode');
    const nodeName = `info-node-${process.pid}`;
    await admin.post('/api/v1/nodes', nodeManifest(nodeName));
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName }));
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
    await admin.delete(`/api/v1/nodes/${nodeName}`);
    const status = await accepted(token);
    assert.deepEqual(status.user.extra[`${EXTRA}/node-name`], [nodeName]);
  });
});

describe('legacy secret-based tokens', () => {
  test('a service-account-token Secret is filled, its token authenticates, and stops when invalidated or gone', async () => {
    const ns = await ts.namespace('legacy');
    const saUid = await uidOf(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
    const created = await admin.post(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'legacy-token', annotations: { 'kubernetes.io/service-account.name': 'default' } },
      type: 'kubernetes.io/service-account-token',
    });
    assert.equal(created.status, 201, created.text);
    const secret = await waitFor('the token controller to fill the secret', async () => {
      const s = (await admin.get(`/api/v1/namespaces/${ns}/secrets/legacy-token`)).json();
      return s.data?.token ? s : undefined;
    });
    assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), ts.handle.pki.ca.certPem);
    assert.equal(Buffer.from(secret.data.namespace, 'base64').toString(), ns);
    assert.equal(secret.metadata.annotations['kubernetes.io/service-account.uid'], saUid);
    const token = Buffer.from(secret.data.token, 'base64').toString();
    assert.deepEqual(jwtPayload(token), {
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/secret.name': 'legacy-token',
      'kubernetes.io/serviceaccount/service-account.name': 'default',
      'kubernetes.io/serviceaccount/service-account.uid': saUid,
      sub: `system:serviceaccount:${ns}:default`,
    });

    const status = await accepted(token);
    assert.deepEqual(status.user, { username: `system:serviceaccount:${ns}:default`, uid: saUid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] });
    assert.deepEqual(status.audiences, [ISSUER]);
    // no aud claim: valid for the API audiences only
    assert.equal(await rejected(token, ['vault']), `token audiences ["${ISSUER}"] is invalid for the target audiences ["vault"]`);
    // it works as a bearer token, and its use is recorded on the secret
    const whoami = await ts.withToken(token).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {});
    assert.equal(whoami.status, 201, whoami.text);
    assert.equal(whoami.json().status.userInfo.username, `system:serviceaccount:${ns}:default`);
    await waitFor('the last-used label', async () => (await admin.get(`/api/v1/namespaces/${ns}/secrets/legacy-token`)).json().metadata.labels?.['kubernetes.io/legacy-token-last-used'] === new Date().toISOString().slice(0, 10));

    await admin.patch(`/api/v1/namespaces/${ns}/secrets/legacy-token`, { metadata: { labels: { 'kubernetes.io/legacy-token-invalid-since': '2026-01-01' } } }, 'application/merge-patch+json');
    assert.equal(
      await rejected(token),
      `the token in secret ${ns}/legacy-token for service account ${ns}/default has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the 'kubernetes.io/legacy-token-invalid-since' label from the secret to temporarily allow use of this token`,
    );
    await admin.patch(`/api/v1/namespaces/${ns}/secrets/legacy-token`, { metadata: { labels: { 'kubernetes.io/legacy-token-invalid-since': null } } }, 'application/merge-patch+json');
    await accepted(token);

    const copy = (await admin.get(`/api/v1/namespaces/${ns}/secrets/legacy-token`)).json();
    copy.data.token = Buffer.from(`${token}x`).toString('base64');
    assert.equal((await admin.put(`/api/v1/namespaces/${ns}/secrets/legacy-token`, copy)).status, 200);
    assert.equal(await rejected(token), "Token does not match server's copy");

    await admin.delete(`/api/v1/namespaces/${ns}/secrets/legacy-token`);
    assert.equal(await rejected(token), 'Token has been invalidated');
  });

  test('a token its service account lists (auto-generated) is used with legacy.go\'s warning, each time; a review of it has none', async () => {
    const WARNING = '299 - "Use tokens from the TokenRequest API or manually created secret-based tokens instead of auto-generated secret-based tokens."';
    const ns = await ts.namespace('legacywarn');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'old' }, secrets: [{ name: 'old-token' }] });
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'old-token', annotations: { 'kubernetes.io/service-account.name': 'old' } }, type: 'kubernetes.io/service-account-token' });
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'manual-token', annotations: { 'kubernetes.io/service-account.name': 'old' } }, type: 'kubernetes.io/service-account-token' });
    const tokenOf = async (name: string): Promise<string> =>
      Buffer.from(await waitFor('the token', async () => (await admin.get(`/api/v1/namespaces/${ns}/secrets/${name}`)).json().data?.token), 'base64').toString();
    const listed = await tokenOf('old-token');
    const manual = await tokenOf('manual-token');
    for (let i = 0; i < 2; i++) {
      // as a bearer token (the second time from the authenticator's cache)
      const whoami = await ts.withToken(listed).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {});
      assert.equal(whoami.status, 201, whoami.text);
      assert.equal(whoami.headers.warning, WARNING);
      // reviewed: storage.go authenticates without the request's context, so no warning reaches it
      const res = await admin.post(REVIEWS, { spec: { token: listed } });
      assert.equal(res.json().status.authenticated, true);
      assert.equal(res.headers.warning, undefined);
    }
    const quiet = await ts.withToken(manual).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {});
    assert.equal(quiet.status, 201, quiet.text);
    assert.equal(quiet.headers.warning, undefined);
  });

  test('the secret goes with its service account', async () => {
    const ns = await ts.namespace('legacysa');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } });
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'robot-token', annotations: { 'kubernetes.io/service-account.name': 'robot' } }, type: 'kubernetes.io/service-account-token' });
    await waitFor('the token', async () => (await admin.get(`/api/v1/namespaces/${ns}/secrets/robot-token`)).json().data?.token);
    await admin.delete(`/api/v1/namespaces/${ns}/serviceaccounts/robot`);
    await waitFor('the secret to go', async () => (await admin.get(`/api/v1/namespaces/${ns}/secrets/robot-token`)).status === 404);
  });

  test('a service-account-token Secret needs the service account annotation', async () => {
    const ns = await ts.namespace('legacyinvalid');
    const res = await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'x' }, type: 'kubernetes.io/service-account-token' });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json().details.causes[0].field, 'metadata.annotations[kubernetes.io/service-account.name]');
  });
});

describe('SelfSubjectReview', () => {
  const whoamiFixture = readFileSync(new URL('../fixtures/kubectl-1.32-requests.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { command: string; path: string; contentType: string; accept: string; bodyBase64?: string })
    .find((r) => r.command === 'kubectl auth whoami' && r.bodyBase64)!;

  for (const version of ['v1', 'v1beta1']) {
    test(`${version}: the admin certificate's user, made now`, async () => {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const res = await admin.post(`/apis/authentication.k8s.io/${version}/selfsubjectreviews`, { apiVersion: `authentication.k8s.io/${version}`, kind: 'SelfSubjectReview' });
      const after = Date.now();
      assert.equal(res.status, 201, res.text);
      const body = res.json();
      // metav1.NewTime(time.Now()), written to the second
      assert.match(body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const created = Date.parse(body.metadata.creationTimestamp);
      assert.ok(created >= before && created <= after, body.metadata.creationTimestamp);
      assert.deepEqual(body, {
        kind: 'SelfSubjectReview',
        apiVersion: `authentication.k8s.io/${version}`,
        metadata: { creationTimestamp: body.metadata.creationTimestamp },
        status: { userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'], extra: certificateExtra(ts.handle.pki.admin.certPem) } },
      });
    });
  }

  test('extras in Go\'s map order (sorted), whatever order they were given in', async () => {
    const res = await admin.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, {
      headers: { 'impersonate-user': 'jane', 'impersonate-extra-zeta': 'z', 'impersonate-extra-alpha': 'a', 'impersonate-extra-mid': 'm' },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(JSON.stringify(res.json().status.userInfo.extra), '{"alpha":["a"],"mid":["m"],"zeta":["z"]}');
  });

  test('kubectl 1.32 `auth whoami` in protobuf, with a service account token', async () => {
    const ns = await ts.namespace('whoami');
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }));
    const token = await mint(ns, 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
    const res = await ts.withToken(token).post(whoamiFixture.path, Buffer.from(whoamiFixture.bodyBase64!, 'base64'), { contentType: whoamiFixture.contentType, headers: { accept: whoamiFixture.accept } });
    assert.equal(res.status, 201, res.text);
    const info = res.json().status.userInfo;
    assert.equal(info.username, `system:serviceaccount:${ns}:default`);
    assert.deepEqual(info.groups, ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated']);
    assert.deepEqual(info.extra[`${EXTRA}/pod-name`], ['p']);
    assert.deepEqual(info.extra[`${EXTRA}/credential-id`], [`JTI=${jwtPayload(token).jti}`]);
    assert.deepEqual(Object.keys(info.extra), [`${EXTRA}/credential-id`, `${EXTRA}/pod-name`, `${EXTRA}/pod-uid`]);
  });
});

describe('protobuf bodies', () => {
  test('SelfSubjectReview v1beta1 and TokenReview v1 in protobuf, answered in JSON', async () => {
    const ssr = encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1beta1', kind: 'SelfSubjectReview', metadata: {}, status: {} } as never);
    const whoami = await admin.post('/apis/authentication.k8s.io/v1beta1/selfsubjectreviews', ssr, { contentType: 'application/vnd.kubernetes.protobuf', headers: { accept: 'application/vnd.kubernetes.protobuf,application/json' } });
    assert.equal(whoami.status, 201, whoami.text);
    assert.equal(whoami.headers['content-type'], 'application/json');
    const ssrBody = whoami.json();
    assert.equal(typeof ssrBody.metadata.creationTimestamp, 'string');
    assert.deepEqual(ssrBody, {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1beta1',
      metadata: { creationTimestamp: ssrBody.metadata.creationTimestamp },
      status: { userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'], extra: certificateExtra(ts.handle.pki.admin.certPem) } },
    });

    const ns = await ts.namespace('pbreview');
    const token = await mint(ns, 'default', { audiences: ['vault'] });
    const tr = encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token, audiences: ['vault'] } } as never);
    const res = await admin.post(REVIEWS, tr, { contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json().status.authenticated, true);
    assert.deepEqual(res.json().status.audiences, ['vault']);
  });
});

describe('the forged and malformed token corpus', () => {
  test('every token is refused, with the valid original accepted as the control', async () => {
    // the corpus binds to default/default (uid e5a3…) and pod web-0 (uid 5bd8…): make exactly those exist
    const saUid = 'e5a3b1c2-7d44-4c2a-9b1e-3f6d2a8c9e10';
    const podUid = '5bd8a4a0-9f83-4e0c-8d3f-0c1a5c6e7b21';
    await waitFor('default/default', () => ts.handle.registry.cache('serviceaccounts').get('default', 'default'));
    await plant('/registry/serviceaccounts/default/default', (sa) => (sa.metadata.uid = saUid));
    await ts.handle.store.create('/registry/pods/default/web-0', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'default', uid: podUid, creationTimestamp: ago(10) },
      spec: { serviceAccountName: 'default', schedulerName: 'nobody', containers: [{ name: 'app', image: 'x' }] },
    });
    await waitFor('web-0 in the cache', () => ts.handle.registry.cache('pods').get('default', 'web-0'));

    const key = ts.handle.tokenConfig.signingKey;
    const otherKey = loadSigningKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }));
    const now = Math.floor(Date.now() / 1000);
    // an audience other than the API's, asked for explicitly: the corpus's verifier has no
    // implicit audiences, and Kubernetes gives a token without aud the API audiences
    const audience = 'https://corpus.example.com';
    const control = createSigner(key).sign({
      aud: [audience],
      exp: now + 3600,
      iat: now,
      iss: ISSUER,
      jti: '1c2f7e46-3c6b-4bd4-9d6a-6f4c0e1f5a01',
      'kubernetes.io': { namespace: 'default', pod: { name: 'web-0', uid: podUid }, serviceaccount: { name: 'default', uid: saUid } },
      nbf: now,
      sub: 'system:serviceaccount:default:default',
    });
    const ok = await accepted(control, [audience]);
    assert.equal(ok.user.username, 'system:serviceaccount:default:default');

    // the server's clock runs on while the corpus is reviewed: the not-yet-valid cases come from a
    // corpus made 30 s ahead (still refused for the next 30 s), the expired ones only age further
    const future = new Set(['ERR_TOKEN_NOT_YET_VALID', 'ERR_TOKEN_ISSUED_IN_FUTURE']);
    const corpus = [
      ...forgedTokenCorpus({ key, otherKey, issuer: ISSUER, audience, now }).filter((c) => !future.has(c.expectedCode)),
      ...forgedTokenCorpus({ key, otherKey, issuer: ISSUER, audience, now: now + 30 }).filter((c) => future.has(c.expectedCode)),
    ];
    assert.ok(corpus.length >= 30);
    assert.ok(corpus.filter((c) => future.has(c.expectedCode)).length >= 2);
    for (const c of corpus) {
      if (c.token === '') {
        const res = await admin.post(REVIEWS, { spec: { token: '' } });
        assert.equal(res.status, 400, c.name);
        continue;
      }
      // TokenReview reads the token as an Authorization header: the white space around the valid
      // token is trimmed (accepted), and a space before it makes it no bearer token (no error)
      if (c.name === 'trailing newline') {
        assert.equal((await accepted(c.token, [audience])).user.username, 'system:serviceaccount:default:default', c.name);
        continue;
      }
      if (c.name === 'leading space') {
        const r = await review(c.token, [audience]);
        assert.deepEqual(r.body.status, { user: {} }, c.name);
        continue;
      }
      const r = await review(c.token, [audience]);
      assert.equal(r.status, 201, `${c.name}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.notEqual(r.body.status.authenticated, true, c.name);
      assert.deepEqual(r.body.status.user, {}, c.name);
      assert.equal(typeof r.body.status.error, 'string', c.name);
      // a token that does not parse as a JWS is nobody's: the bearer authenticator's error (jwt.go)
      if (c.expectedCode === 'ERR_TOKEN_MALFORMED' || c.expectedCode === 'ERR_TOKEN_TOO_LARGE') {
        assert.equal(r.body.status.error, 'invalid bearer token', c.name);
      }
      // the same token as a bearer credential is a 401 — except the validly signed one without
      // aud, which Kubernetes accepts for the API audiences (it then lacks the rights: 403)
      if (!/[\s]/.test(c.token) && c.token.length < 64 * 1024) {
        const res = await ts.anonymous.get('/api/v1/namespaces/default/pods', { authorization: `Bearer ${c.token}` });
        assert.equal(res.status, c.name === 'no audience' ? 403 : 401, c.name);
      }
    }
    // the server still answers, and still accepts the control
    assert.equal((await admin.get('/version')).status, 200);
    await accepted(control, [audience]);
  });
});
