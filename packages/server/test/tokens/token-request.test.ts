/**
 * TokenRequest (reference/k8s-server.md §1–§3): defaults, limits, the one-year extension, bound
 * objects (Pod with its node, Secret, Node), the errors Kubernetes answers, protobuf bodies as
 * kubectl 1.32 sends them — with the server's clock frozen where the timestamps matter.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeProtobufObject } from '@boundtoken/api/protobuf';
import type { Client } from '../support/http.js';
import { jwtHeader, jwtPayload, nodeManifest, podManifest, startTestServer, type TestServer } from '../support/server.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const YEAR = 365 * 24 * 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let ts: TestServer;
let admin: Client;
let ns: string;
let saUid: string;
let pod: any; // eslint-disable-line @typescript-eslint/no-explicit-any
let node: any; // eslint-disable-line @typescript-eslint/no-explicit-any
const nodeName = `tr-node-${process.pid}`;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
  ns = await ts.namespace('tokenreq');
  saUid = (await admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).json().metadata.uid;
  node = (await admin.post('/api/v1/nodes', nodeManifest(nodeName))).json();
  pod = (await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('web-0', { nodeName }))).json();
  assert.ok(pod.metadata?.uid, JSON.stringify(pod));
});
after(() => ts?.close());

/** Freezes the server's clock (same process) at a whole second just past. */
function freeze(t: TestContext): number {
  const now = Math.floor(Date.now() / 1000) * 1000 - 1000;
  t.mock.timers.enable({ apis: ['Date'], now });
  return now / 1000;
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function tokenPath(sa = 'default', namespace = ns): string {
  return `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`;
}

async function request(spec: object, sa = 'default', namespace = ns): Promise<{ status: number; body: any; headers: Record<string, unknown> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await admin.post(tokenPath(sa, namespace), { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
  return { status: res.status, body: res.json(), headers: res.headers };
}

describe('TokenRequest defaults', () => {
  test('3600 s for the API audiences, with the request echoed and a status', async (t) => {
    const now = freeze(t);
    const res = await request({});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { body } = res;
    assert.equal(body.kind, 'TokenRequest');
    assert.equal(body.apiVersion, 'authentication.k8s.io/v1');
    assert.deepEqual(body.metadata, { name: 'default', namespace: ns, creationTimestamp: rfc3339(now) });
    // no omitempty on boundObjectRef: Kubernetes answers null
    assert.equal(JSON.stringify(body.spec), `{"audiences":["${ISSUER}"],"expirationSeconds":3600,"boundObjectRef":null}`);
    assert.equal(body.status.expirationTimestamp, rfc3339(now + 3600));

    const token: string = body.status.token;
    assert.equal(token.split('.')[0], Buffer.from(JSON.stringify({ alg: 'RS256', kid: ts.handle.tokenConfig.signingKey.kid })).toString('base64url'));
    const claims = jwtPayload(token);
    assert.deepEqual(Object.keys(claims), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    assert.deepEqual(claims.aud, [ISSUER]);
    assert.equal(claims.iat, now);
    assert.equal(claims.nbf, now);
    assert.equal(claims.exp, now + 3600);
    assert.equal(claims.iss, ISSUER);
    assert.match(claims.jti, UUID);
    assert.equal(claims.sub, `system:serviceaccount:${ns}:default`);
    assert.deepEqual(claims['kubernetes.io'], { namespace: ns, serviceaccount: { name: 'default', uid: saUid } });
  });

  test('every token has its own jti', async () => {
    const a = jwtPayload((await request({})).body.status.token).jti;
    const b = jwtPayload((await request({})).body.status.token).jti;
    assert.notEqual(a, b);
  });

  test('the requested audiences and expiration are used as given', async (t) => {
    const now = freeze(t);
    const res = await request({ audiences: ['vault', 'istio-ca'], expirationSeconds: 7200 });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.spec.audiences, ['vault', 'istio-ca']);
    const claims = jwtPayload(res.body.status.token);
    assert.deepEqual(claims.aud, ['vault', 'istio-ca']);
    assert.equal(claims.exp, now + 7200);
    assert.equal(res.body.status.expirationTimestamp, rfc3339(now + 7200));
  });

  test('explicit nulls (kubectl 1.31) mean the defaults', async () => {
    const res = await admin.post(tokenPath(), {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
      status: { token: '', expirationTimestamp: null },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json().spec, { audiences: [ISSUER], expirationSeconds: 3600, boundObjectRef: null });
  });

  test('the request\'s own metadata is answered back; system fields are not', async (t) => {
    const now = freeze(t);
    const res = await admin.post(tokenPath(), {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { labels: { team: 'a' }, annotations: { note: 'x' }, uid: 'not-kept', creationTimestamp: '2001-01-01T00:00:00Z' },
      spec: {},
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json().metadata, { name: 'default', namespace: ns, creationTimestamp: rfc3339(now), labels: { team: 'a' }, annotations: { note: 'x' } });
  });
});

describe('TokenRequest limits', () => {
  const invalid = (value: number, detail: string): object => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${value}: ${detail}`,
    reason: 'Invalid',
    details: { group: 'authentication.k8s.io', kind: 'TokenRequest', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${detail}`, field: 'spec.expirationSeconds' }] },
    code: 422,
  });

  test('599 s is below the 10 minute minimum', async () => {
    const res = await request({ expirationSeconds: 599 });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, invalid(599, 'may not specify a duration less than 10 minutes'));
  });

  test('2^32 + 1 s is above the maximum', async () => {
    const res = await request({ expirationSeconds: 2 ** 32 + 1 });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, invalid(2 ** 32 + 1, 'may not specify a duration larger than 2^32 seconds'));
  });

  test('600 s and 2^32 s are the bounds, inclusive', async (t) => {
    const now = freeze(t);
    for (const seconds of [600, 2 ** 32]) {
      const res = await request({ expirationSeconds: seconds });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(jwtPayload(res.body.status.token).exp, now + seconds);
    }
  });

  test('a body name or namespace other than the URL\'s is 422', async () => {
    const byName = await admin.post(tokenPath(), { metadata: { name: 'other' }, spec: {} });
    assert.equal(byName.status, 422);
    assert.equal(byName.json().message, 'TokenRequest.authentication.k8s.io "default" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified');
    const byNamespace = await admin.post(tokenPath(), { metadata: { namespace: 'elsewhere' }, spec: {} });
    assert.equal(byNamespace.status, 422);
    assert.equal(byNamespace.json().message, 'TokenRequest.authentication.k8s.io "default" is invalid: metadata.namespace: Invalid value: "elsewhere": must match the service account namespace if specified');
  });

  test('a service account that does not exist is 404', async () => {
    const res = await request({}, 'nobody');
    assert.equal(res.status, 404);
    assert.equal(res.body.message, 'serviceaccounts "nobody" not found');
  });

  test('only create is served on serviceaccounts/token (go-restful\'s 405 for other methods)', async () => {
    for (const res of [await admin.get(tokenPath()), await admin.delete(tokenPath())]) {
      assert.equal(res.status, 405);
      assert.deepEqual(res.json(), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server does not allow this method on the requested resource',
        reason: 'MethodNotAllowed',
        details: {},
        code: 405,
      });
    }
  });

  test('the response is written kind first, as Go writes TypeMeta', async () => {
    assert.match((await admin.post(tokenPath(), { spec: {} })).text, /^\{"kind":"TokenRequest","apiVersion":"authentication.k8s.io\/v1",/);
  });
});

describe('TokenRequest bound to a pod', () => {
  test('pod and node claims; the one-year extension for 3607 s with warnafter, the status still says 3607 s', async (t) => {
    const now = freeze(t);
    const ref = { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: pod.metadata.uid };
    const res = await request({ boundObjectRef: ref, expirationSeconds: 3607 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.spec, { audiences: [ISSUER], expirationSeconds: 3607, boundObjectRef: ref });
    assert.equal(res.body.status.expirationTimestamp, rfc3339(now + 3607));
    const claims = jwtPayload(res.body.status.token);
    assert.equal(claims.exp, now + YEAR);
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: ns,
      node: { name: nodeName, uid: node.metadata.uid },
      pod: { name: 'web-0', uid: pod.metadata.uid },
      serviceaccount: { name: 'default', uid: saUid },
      warnafter: now + 3607,
    });
    assert.deepEqual(Object.keys(claims['kubernetes.io']), ['namespace', 'node', 'pod', 'serviceaccount', 'warnafter']);
  });

  test('no extension for other durations, for audiences that are not the API\'s, or without a pod', async (t) => {
    const now = freeze(t);
    const ref = { kind: 'Pod', apiVersion: 'v1', name: 'web-0' };
    const cases: [object, number][] = [
      [{ boundObjectRef: ref, expirationSeconds: 3608 }, 3608],
      [{ boundObjectRef: ref, expirationSeconds: 3607, audiences: ['vault'] }, 3607],
      [{ boundObjectRef: ref, expirationSeconds: 3607, audiences: [ISSUER, 'vault'] }, 3607],
      [{ expirationSeconds: 3607 }, 3607],
    ];
    for (const [spec, exp] of cases) {
      const res = await request(spec);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const claims = jwtPayload(res.body.status.token);
      assert.equal(claims.exp, now + exp, JSON.stringify(spec));
      assert.equal(claims['kubernetes.io'].warnafter, undefined, JSON.stringify(spec));
    }
  });

  test('the bound reference is answered as sent (kubectl sends an empty uid)', async () => {
    const ref = { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: '' };
    const res = await request({ boundObjectRef: ref });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.spec.boundObjectRef, { kind: 'Pod', apiVersion: 'v1', name: 'web-0' });
    assert.equal(jwtPayload(res.body.status.token)['kubernetes.io'].pod.uid, pod.metadata.uid);
  });

  test('a pod on a node that does not exist names the node without a uid', async () => {
    const ghostNode = `ghost-node-${process.pid}`;
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('on-ghost', { nodeName: ghostNode }));
    const res = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'on-ghost' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(jwtPayload(res.body.status.token)['kubernetes.io'].node, { name: ghostNode });
  });

  test('a pod not yet scheduled has no node claim', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('pending', { spec: { schedulerName: 'nobody' } }));
    const res = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'pending' } });
    assert.equal(res.status, 201);
    assert.equal(jwtPayload(res.body.status.token)['kubernetes.io'].node, undefined);
  });

  test('errors: missing pod 404, other service account 400, uid mismatch 409', async () => {
    const missing = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'no-such-pod' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'pods "no-such-pod" not found');

    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'other' } });
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('runs-as-other', { serviceAccountName: 'other', spec: { schedulerName: 'nobody' } }));
    const wrongSa = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'runs-as-other' } });
    assert.equal(wrongSa.status, 400);
    assert.equal(wrongSa.body.reason, 'BadRequest');
    assert.equal(wrongSa.body.message, 'cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.');

    const mismatch = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: 'not-the-uid' } });
    assert.equal(mismatch.status, 409);
    assert.deepEqual(mismatch.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on Pod "web-0": the UID in the bound object reference (not-the-uid) does not match the UID in record. The object might have been deleted and then recreated',
      reason: 'Conflict',
      details: { name: 'web-0', kind: 'Pod' },
      code: 409,
    });
  });
});

describe('TokenRequest bound to a secret or a node', () => {
  test('secret-bound: a secret claim, no extension', async (t) => {
    const now = freeze(t);
    const s = (await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'binder' } })).json();
    const res = await request({ boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'binder' }, expirationSeconds: 3607 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const claims = jwtPayload(res.body.status.token);
    assert.deepEqual(claims['kubernetes.io'], { namespace: ns, secret: { name: 'binder', uid: s.metadata.uid }, serviceaccount: { name: 'default', uid: saUid } });
    assert.equal(claims.exp, now + 3607);
  });

  test('node-bound: a node claim', async () => {
    const res = await request({ boundObjectRef: { kind: 'Node', apiVersion: 'v1', name: nodeName } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(jwtPayload(res.body.status.token)['kubernetes.io'], { namespace: ns, node: { name: nodeName, uid: node.metadata.uid }, serviceaccount: { name: 'default', uid: saUid } });
  });

  test('missing secret or node: 404', async () => {
    const secret = await request({ boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'nope' } });
    assert.equal(secret.status, 404);
    assert.equal(secret.body.message, 'secrets "nope" not found');
    const n = await request({ boundObjectRef: { kind: 'Node', apiVersion: 'v1', name: 'nope' } });
    assert.equal(n.status, 404);
    assert.equal(n.body.message, 'nodes "nope" not found');
  });

  test('other kinds are 400, whatever the version', async () => {
    const cases: [object, string][] = [
      [{ kind: 'ConfigMap', apiVersion: 'v1', name: 'x' }, 'cannot bind token to object of type /v1, Kind=ConfigMap'],
      [{ kind: 'Deployment', apiVersion: 'apps/v1', name: 'x' }, 'cannot bind token to object of type apps/v1, Kind=Deployment'],
      [{ kind: 'Pod', apiVersion: 'example.com/v1', name: 'web-0' }, 'cannot bind token to object of type example.com/v1, Kind=Pod'],
    ];
    for (const [ref, message] of cases) {
      const res = await request({ boundObjectRef: ref });
      assert.equal(res.status, 400, JSON.stringify(ref));
      assert.equal(res.body.message, message);
    }
    // the version of a core kind is ignored
    const v2 = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v2', name: 'web-0' } });
    assert.equal(v2.status, 201, JSON.stringify(v2.body));
    // an apiVersion that does not parse (more than one '/') leaves group and version empty
    const odd = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'a/b/c', name: 'web-0' } });
    assert.equal(odd.status, 201, JSON.stringify(odd.body));
    const oddKind = await request({ boundObjectRef: { kind: 'ConfigMap', apiVersion: 'a/b/c', name: 'x' } });
    assert.equal(oddKind.body.message, 'cannot bind token to object of type /, Kind=ConfigMap');
  });

  test('a bound object name that cannot be a storage key is 400, as Kubernetes\' key function answers', async () => {
    const cases: [object, string][] = [
      [{ kind: 'Pod', apiVersion: 'v1' }, 'Name parameter required.'],
      [{ kind: 'Secret', apiVersion: 'v1', name: '' }, 'Name parameter required.'],
      [{ kind: 'Pod', apiVersion: 'v1', name: '../x' }, 'Name parameter invalid: "../x": may not contain \'/\''],
      [{ kind: 'Node', apiVersion: 'v1', name: '..' }, 'Name parameter invalid: "..": may not be \'..\''],
      [{ kind: 'Secret', apiVersion: 'v1', name: 'a%/b' }, 'Name parameter invalid: "a%/b": may not contain \'/\';may not contain \'%\''],
    ];
    for (const [ref, message] of cases) {
      const res = await request({ boundObjectRef: ref });
      assert.equal(res.status, 400, JSON.stringify(ref));
      assert.equal(res.body.reason, 'BadRequest');
      assert.equal(res.body.message, message);
    }
  });
});

describe('protobuf request bodies', () => {
  const fixtures = readFileSync(new URL('../fixtures/kubectl-1.32-requests.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { command: string; method: string; path: string; contentType: string | null; accept: string; bodyBase64?: string })
    .filter((r) => r.bodyBase64 && r.path.endsWith('/token'));

  test('kubectl 1.32 `create token default`: protobuf in, JSON out', async () => {
    const fx = fixtures.find((f) => f.command === 'kubectl create token default')!;
    const res = await admin.post(fx.path, Buffer.from(fx.bodyBase64!, 'base64'), { contentType: fx.contentType!, headers: { accept: fx.accept } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['content-type'], 'application/json');
    const body = res.json();
    assert.deepEqual(body.spec, { audiences: [ISSUER], expirationSeconds: 3600, boundObjectRef: null });
    assert.equal(jwtPayload(body.status.token).sub, 'system:serviceaccount:default:default');
  });

  test('kubectl 1.32 `create token … --audience --duration --bound-object-*`', async () => {
    // the fixture binds to pod p1 with uid 1234 in ns1: make exactly that pod exist
    await admin.post('/api/v1/namespaces', { metadata: { name: 'ns1' } });
    const store = ts.handle.store;
    const sa = await waitForDefaultSa('ns1');
    await store.create('/registry/pods/ns1/p1', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', namespace: 'ns1', uid: '1234', creationTimestamp: rfc3339(Math.floor(Date.now() / 1000)) },
      spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'x' }] },
    });
    await waitForCached(() => ts.handle.registry.cache('pods').get('ns1', 'p1'));
    const fx = fixtures.find((f) => f.command.includes('--bound-object-kind'))!;
    const res = await admin.post(fx.path, Buffer.from(fx.bodyBase64!, 'base64'), { contentType: fx.contentType!, headers: { accept: fx.accept } });
    assert.equal(res.status, 201, res.text);
    const body = res.json();
    assert.deepEqual(body.spec, { audiences: ['istio-ca'], expirationSeconds: 43200, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: '1234' } });
    const claims = jwtPayload(body.status.token);
    assert.equal(claims.exp - claims.iat, 43200);
    assert.deepEqual(claims['kubernetes.io'], { namespace: 'ns1', pod: { name: 'p1', uid: '1234' }, serviceaccount: { name: 'default', uid: sa } });
  });

  test('a TokenRequest encoded with encodeProtobufObject', async () => {
    const body = encodeProtobufObject({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { audiences: ['vault'], expirationSeconds: 1800, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: pod.metadata.uid } },
    } as never);
    const res = await admin.post(tokenPath(), body, { contentType: 'application/vnd.kubernetes.protobuf', headers: { accept: 'application/vnd.kubernetes.protobuf,application/json' } });
    assert.equal(res.status, 201, res.text);
    const claims = jwtPayload(res.json().status.token);
    assert.deepEqual(claims.aud, ['vault']);
    assert.equal(claims.exp - claims.iat, 1800);
    assert.equal(claims['kubernetes.io'].pod.uid, pod.metadata.uid);
  });

  test('a protobuf envelope of another kind is refused', async () => {
    const body = encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: {} } as never);
    const res = await admin.post(tokenPath(), body, { contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(res.status, 400, res.text);
  });

  test('the JWT header is exactly {"alg":"RS256","kid":…}', async () => {
    const token = (await request({})).body.status.token;
    assert.deepEqual(jwtHeader(token), { alg: 'RS256', kid: ts.handle.tokenConfig.signingKey.kid });
  });
});

async function waitForDefaultSa(namespace: string): Promise<string> {
  const sa = await waitForCached(() => ts.handle.registry.cache('serviceaccounts').get(namespace, 'default'));
  return sa.metadata!.uid!;
}

async function waitForCached<T>(get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = get();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('timed out waiting for the cache');
}
