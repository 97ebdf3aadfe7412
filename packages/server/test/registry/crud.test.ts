/**
 * Registry semantics over HTTPS with the admin certificate, as Kubernetes 1.32 answers: create,
 * get, list (selectors, paging with a consistent snapshot), update (optimistic concurrency, status
 * subresource), patch (all four types) and delete (preconditions, graceful pods, namespaces).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../support/http.js';
import { podManifest, startTestServer, waitFor, type TestServer } from '../support/server.js';

let ts: TestServer;
let admin: Client;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
});
after(() => ts?.close());

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function cm(name: string, data: Record<string, string> = {}, labels?: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data };
}

function secret(name: string, data: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data };
}

async function mustCreate(path: string, body: object): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await admin.post(path, body);
  assert.equal(res.status, 201, res.text);
  return res.json();
}

describe('create', () => {
  test('fills uid, creationTimestamp, resourceVersion, apiVersion and kind', async () => {
    const ns = await ts.namespace('create');
    const before = Date.now();
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'c1' }, data: { a: '1' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['content-type'], 'application/json');
    const obj = res.json();
    assert.equal(obj.apiVersion, 'v1');
    assert.equal(obj.kind, 'ConfigMap');
    assert.equal(obj.metadata.name, 'c1');
    assert.equal(obj.metadata.namespace, ns);
    assert.match(obj.metadata.uid, UUID);
    assert.match(obj.metadata.creationTimestamp, RFC3339);
    assert.ok(Math.abs(Date.parse(obj.metadata.creationTimestamp) - before) < 5000);
    assert.match(obj.metadata.resourceVersion, /^[1-9]\d*$/);
    assert.deepEqual(obj.data, { a: '1' });
    const got = (await admin.get(`/api/v1/namespaces/${ns}/configmaps/c1`)).json();
    assert.deepEqual(got, obj);
  });

  test('the server owns uid, creationTimestamp, deletionTimestamp and generation', async () => {
    const ns = await ts.namespace('owned');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c1', uid: 'client-uid', creationTimestamp: '2001-01-01T00:00:00Z', deletionTimestamp: '2001-01-01T00:00:00Z', generation: 7, selfLink: '/x' },
    });
    assert.notEqual(obj.metadata.uid, 'client-uid');
    assert.notEqual(obj.metadata.creationTimestamp, '2001-01-01T00:00:00Z');
    assert.equal(obj.metadata.deletionTimestamp, undefined);
    assert.equal(obj.metadata.generation, undefined);
    assert.equal(obj.metadata.selfLink, undefined);
  });

  test('generateName: the prefix plus five characters of the name alphabet', async () => {
    const ns = await ts.namespace('gen');
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { generateName: 'cfg-' } });
      assert.match(obj.metadata.name, /^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(obj.metadata.generateName, 'cfg-');
      names.add(obj.metadata.name);
    }
    assert.equal(names.size, 5);
  });

  test('an existing name is 409 AlreadyExists and the stored object is untouched', async () => {
    const ns = await ts.namespace('exists');
    const first = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('dup', { v: '1' }));
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('dup', { v: '2' }));
    assert.equal(res.status, 409);
    assert.deepEqual(res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "dup" already exists',
      reason: 'AlreadyExists',
      details: { name: 'dup', kind: 'configmaps' },
      code: 409,
    });
    assert.deepEqual((await admin.get(`/api/v1/namespaces/${ns}/configmaps/dup`)).json(), first);
  });

  test('a namespace in the body that differs from the URL is 400', async () => {
    const ns = await ts.namespace('nsmis');
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'c', namespace: 'other' } });
    assert.equal(res.status, 400);
    assert.equal(res.json().reason, 'BadRequest');
    assert.equal(res.json().message, 'the namespace of the provided object does not match the namespace sent on the request');
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/c`)).status, 404);
  });

  test('a namespace that does not exist is 404 (NamespaceLifecycle)', async () => {
    const res = await admin.post('/api/v1/namespaces/no-such-namespace/configmaps', cm('c'));
    assert.equal(res.status, 404);
    assert.deepEqual(res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "no-such-namespace" not found',
      reason: 'NotFound',
      details: { name: 'no-such-namespace', kind: 'namespaces' },
      code: 404,
    });
  });

  test('cluster-scoped objects drop a namespace', async () => {
    const res = await admin.post('/api/v1/namespaces', { metadata: { name: `scoped-${process.pid}`, namespace: 'default' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json().metadata.namespace, undefined);
  });

  test('dryRun=All validates and answers but stores nothing', async () => {
    const ns = await ts.namespace('dry');
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps?dryRun=All`, cm('ghost', { a: 'b' }));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json().metadata.name, 'ghost');
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/ghost`)).status, 404);
  });
});

describe('get and list', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('list');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('a-front', {}, { app: 'web', tier: 'front' }));
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('b-back', {}, { app: 'web', tier: 'back' }));
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('c-none', {}));
  });

  const names = (list: { items: { metadata: { name: string } }[] }): string[] => list.items.map((i) => i.metadata.name);

  test('a missing object is 404 NotFound', async () => {
    const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'configmaps' },
      code: 404,
    });
  });

  test('a list is a ConfigMapList with a resourceVersion, items sorted by name', async () => {
    const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps`);
    assert.equal(res.status, 200);
    const list = res.json();
    assert.equal(list.kind, 'ConfigMapList');
    assert.equal(list.apiVersion, 'v1');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(names(list), ['a-front', 'b-back', 'c-none', 'kube-root-ca.crt']);
  });

  const selectorCases: [string, string[]][] = [
    ['labelSelector=app%3Dweb', ['a-front', 'b-back']],
    ['labelSelector=tier%20in%20(front)', ['a-front']],
    ['labelSelector=tier%21%3Dfront', ['b-back', 'c-none', 'kube-root-ca.crt']],
    ['labelSelector=%21tier', ['c-none', 'kube-root-ca.crt']],
    ['labelSelector=app%2Ctier%20notin%20(back)', ['a-front']],
    ['fieldSelector=metadata.name%3Db-back', ['b-back']],
    ['fieldSelector=metadata.name%21%3Db-back', ['a-front', 'c-none', 'kube-root-ca.crt']],
    ['fieldSelector=metadata.namespace%3Dnot-this-one', []],
    ['labelSelector=app%3Dweb&fieldSelector=metadata.name%21%3Da-front', ['b-back']],
  ];
  for (const [query, want] of selectorCases) {
    test(`?${decodeURIComponent(query)}`, async () => {
      const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps?${query}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(names(res.json()), want);
    });
  }

  test('a field the resource cannot select on is 400', async () => {
    const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps?fieldSelector=spec.nodeName%3Dn1`);
    assert.equal(res.status, 400);
    assert.equal(res.json().message, '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"');
  });

  test('a malformed selector is 400', async () => {
    for (const q of ['labelSelector=app%3D%3D%3Dx', 'fieldSelector=metadata.name']) {
      const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.json().reason, 'BadRequest');
    }
  });

  test('pods select on spec.nodeName across namespaces', async () => {
    const pns = await ts.namespace('podsel');
    await mustCreate(`/api/v1/namespaces/${pns}/pods`, podManifest('on-n1', { nodeName: `sel-n1-${process.pid}` }));
    await mustCreate(`/api/v1/namespaces/${pns}/pods`, podManifest('on-n2', { nodeName: `sel-n2-${process.pid}` }));
    const res = await admin.get(`/api/v1/pods?fieldSelector=spec.nodeName%3Dsel-n1-${process.pid}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(names(res.json()), ['on-n1']);
  });
});

describe('paging', () => {
  test('limit/continue pages read one consistent snapshot', async () => {
    const ns = await ts.namespace('page');
    for (const n of ['s1', 's2', 's3', 's4', 's5']) await mustCreate(`/api/v1/namespaces/${ns}/secrets`, secret(n, { v: n }));
    const first = (await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=2`)).json();
    assert.deepEqual(first.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['s1', 's2']);
    assert.equal(first.metadata.remainingItemCount, 3);
    assert.ok(first.metadata.continue);
    const rv = first.metadata.resourceVersion;

    // changes after the first page must not show up in the next pages
    await admin.delete(`/api/v1/namespaces/${ns}/secrets/s3`);
    await mustCreate(`/api/v1/namespaces/${ns}/secrets`, secret('s6'));
    const s4 = (await admin.get(`/api/v1/namespaces/${ns}/secrets/s4`)).json();
    s4.data = { v: Buffer.from('changed').toString('base64') };
    assert.equal((await admin.put(`/api/v1/namespaces/${ns}/secrets/s4`, s4)).status, 200);

    const second = (await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`)).json();
    assert.deepEqual(second.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['s3', 's4']);
    assert.equal(Buffer.from(second.items[1].data.v, 'base64').toString(), 's4');
    assert.equal(second.metadata.resourceVersion, rv);
    assert.equal(second.metadata.remainingItemCount, 1);

    const third = (await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=2&continue=${encodeURIComponent(second.metadata.continue)}`)).json();
    assert.deepEqual(third.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['s5']);
    assert.equal(third.metadata.continue, undefined);
    assert.equal(third.metadata.remainingItemCount, undefined);
    assert.equal(third.metadata.resourceVersion, rv);

    // a fresh list sees the changes
    const now = (await admin.get(`/api/v1/namespaces/${ns}/secrets`)).json();
    assert.deepEqual(now.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['s1', 's2', 's4', 's5', 's6']);
  });

  test('a paged list with a selector filters every page', async () => {
    const ns = await ts.namespace('pagesel');
    for (let i = 0; i < 6; i++) await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm(`c${i}`, {}, { even: String(i % 2 === 0) }));
    const seen: string[] = [];
    let token = '';
    for (let guard = 0; guard < 10; guard++) {
      const page = (await admin.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=even%3Dtrue&limit=2${token ? `&continue=${encodeURIComponent(token)}` : ''}`)).json();
      seen.push(...page.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      assert.equal(page.metadata.remainingItemCount, undefined);
      if (!page.metadata.continue) break;
      token = page.metadata.continue;
    }
    assert.deepEqual(seen, ['c0', 'c2', 'c4']);
  });

  test('a malformed continue token is 400', async () => {
    const res = await admin.get('/api/v1/namespaces/default/configmaps?limit=1&continue=not-a-token');
    assert.equal(res.status, 400);
    assert.equal(res.json().reason, 'BadRequest');
  });

  test('a continue token whose snapshot was compacted is 410 Expired, with a token to go on inconsistently', async () => {
    const ns = await ts.namespace('compact');
    for (const n of ['k1', 'k2', 'k3']) await mustCreate(`/api/v1/namespaces/${ns}/secrets`, secret(n));
    const first = (await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=1`)).json();
    await mustCreate(`/api/v1/namespaces/${ns}/secrets`, secret('k4'));
    await ts.handle.store.compact(await ts.handle.store.currentRevision());
    const res = await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=1&continue=${encodeURIComponent(first.metadata.continue)}`);
    assert.equal(res.status, 410);
    const status = res.json();
    assert.equal(status.reason, 'Expired');
    assert.equal(status.code, 410);
    assert.equal(
      status.message,
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    );
    // the token in the Status goes on from the same place, at the latest state
    assert.ok(status.metadata.continue, 'the Status carries a continue token');
    const rest = (await admin.get(`/api/v1/namespaces/${ns}/secrets?limit=10&continue=${encodeURIComponent(status.metadata.continue)}`)).json();
    assert.deepEqual(rest.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['k2', 'k3', 'k4']);
  });
});

describe('update', () => {
  test('with the current resourceVersion: 200 and a new resourceVersion', async () => {
    const ns = await ts.namespace('upd');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u', { a: '1' }));
    obj.data.a = '2';
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, obj);
    assert.equal(res.status, 200, res.text);
    const updated = res.json();
    assert.equal(updated.data.a, '2');
    assert.ok(Number(updated.metadata.resourceVersion) > Number(obj.metadata.resourceVersion));
    assert.equal(updated.metadata.uid, obj.metadata.uid);
    assert.equal(updated.metadata.creationTimestamp, obj.metadata.creationTimestamp);
  });

  test('with a stale resourceVersion: 409 Conflict, nothing written', async () => {
    const ns = await ts.namespace('stale');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u', { a: '1' }));
    const newer = structuredClone(obj);
    newer.data.a = '2';
    const stored = (await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, newer)).json();
    obj.data.a = '3';
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, obj);
    assert.equal(res.status, 409);
    assert.deepEqual(res.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on configmaps "u": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'u', kind: 'configmaps' },
      code: 409,
    });
    assert.deepEqual((await admin.get(`/api/v1/namespaces/${ns}/configmaps/u`)).json(), stored);
  });

  test('without a resourceVersion: an unconditional update (last writer wins)', async () => {
    const ns = await ts.namespace('uncond');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u', { a: '1' }));
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, cm('u', { a: 'forced' }));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().data.a, 'forced');
  });

  test('a name in the body that differs from the URL is 400', async () => {
    const ns = await ts.namespace('namemis');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u'));
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, cm('other'));
    assert.equal(res.status, 400);
    assert.equal(res.json().message, 'the name of the object (other) does not match the name on the URL (u)');
  });

  test('a body without a name is 400 (the names must match, and an empty one does not)', async () => {
    const ns = await ts.namespace('noname');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u', { a: '1' }));
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, { data: { a: '2' } });
    assert.equal(res.status, 400);
    assert.equal(res.json().message, 'the name of the object () does not match the name on the URL (u)');
    assert.deepEqual((await admin.get(`/api/v1/namespaces/${ns}/configmaps/u`)).json().data, { a: '1' });
  });

  test('a namespace in the body that differs from the URL is 400', async () => {
    const ns = await ts.namespace('nsupd');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u'));
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, { metadata: { name: 'u', namespace: 'elsewhere' } });
    assert.equal(res.status, 400);
    assert.equal(res.json().message, 'the namespace of the provided object does not match the namespace sent on the request');
  });

  test('an object that does not exist is 404', async () => {
    const ns = await ts.namespace('updmissing');
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/missing`, cm('missing'));
    assert.equal(res.status, 404);
    assert.equal(res.json().message, 'configmaps "missing" not found');
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/missing`)).status, 404);
  });

  test('an update that changes nothing keeps the resourceVersion', async () => {
    const ns = await ts.namespace('noop');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('u', { a: '1' }));
    const res = await admin.put(`/api/v1/namespaces/${ns}/configmaps/u`, obj);
    assert.equal(res.status, 200);
    assert.equal(res.json().metadata.resourceVersion, obj.metadata.resourceVersion);
  });

  test('the status subresource changes only the status; the main resource ignores status', async () => {
    const ns = await ts.namespace('status');
    const pod = await mustCreate(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName: `status-node-${process.pid}` }));
    assert.equal(pod.status.phase, 'Pending');

    const viaStatus = structuredClone(pod);
    viaStatus.status.phase = 'Running';
    viaStatus.status.podIP = '10.1.2.3';
    viaStatus.spec.activeDeadlineSeconds = 99;
    const res = await admin.put(`/api/v1/namespaces/${ns}/pods/p/status`, viaStatus);
    assert.equal(res.status, 200, res.text);
    const afterStatus = res.json();
    assert.equal(afterStatus.status.phase, 'Running');
    assert.equal(afterStatus.status.podIP, '10.1.2.3');
    assert.equal(afterStatus.spec.activeDeadlineSeconds, undefined);

    const viaMain = structuredClone(afterStatus);
    viaMain.status.phase = 'Failed';
    viaMain.metadata.labels = { touched: 'yes' };
    const main = (await admin.put(`/api/v1/namespaces/${ns}/pods/p`, viaMain)).json();
    assert.equal(main.status.phase, 'Running');
    assert.deepEqual(main.metadata.labels, { touched: 'yes' });

    const got = (await admin.get(`/api/v1/namespaces/${ns}/pods/p/status`)).json();
    assert.equal(got.kind, 'Pod');
    assert.equal(got.status.phase, 'Running');
  });

  test('status subresource verbs other than get/update/patch are 405', async () => {
    const res = await admin.delete('/api/v1/namespaces/default/pods/x/status');
    assert.equal(res.status, 405);
    assert.equal(res.json().reason, 'MethodNotAllowed');
  });
});

describe('patch', () => {
  test('JSON merge patch', async () => {
    const ns = await ts.namespace('merge');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('m', { a: '1', b: '2' }));
    const res = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/m`, { data: { a: null, c: '3' } }, 'application/merge-patch+json');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().kind, 'ConfigMap');
    assert.deepEqual(res.json().data, { b: '2', c: '3' });
  });

  test('JSON patch, and a failed test operation changes nothing', async () => {
    const ns = await ts.namespace('jsonpatch');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('j', { a: '1' }));
    const ok = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/j`, [
      { op: 'test', path: '/data/a', value: '1' },
      { op: 'replace', path: '/data/a', value: '2' },
      { op: 'add', path: '/data/b', value: 'x' },
    ], 'application/json-patch+json');
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json().data, { a: '2', b: 'x' });
    const failed = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/j`, [
      { op: 'test', path: '/data/a', value: 'nope' },
      { op: 'replace', path: '/data/a', value: '3' },
    ], 'application/json-patch+json');
    assert.equal(failed.status, 422, failed.text);
    assert.deepEqual((await admin.get(`/api/v1/namespaces/${ns}/configmaps/j`)).json().data, { a: '2', b: 'x' });
  });

  test('strategic merge patch merges containers by name', async () => {
    const ns = await ts.namespace('smp');
    await mustCreate(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'img/a:1' }, { name: 'b', image: 'img/b:1' }] },
    });
    const res = await admin.patch(`/api/v1/namespaces/${ns}/pods/p`, { spec: { containers: [{ name: 'b', image: 'img/b:2' }] } }, 'application/strategic-merge-patch+json');
    assert.equal(res.status, 200, res.text);
    const containers = res.json().spec.containers;
    assert.deepEqual(containers.map((c: { name: string; image: string }) => [c.name, c.image]), [['a', 'img/a:1'], ['b', 'img/b:2']]);
  });

  test('a patch of a missing object is 404; an unknown patch type is 415', async () => {
    const missing = await admin.patch('/api/v1/namespaces/default/configmaps/missing-for-patch', { data: {} }, 'application/merge-patch+json');
    assert.equal(missing.status, 404);
    const ns = await ts.namespace('patch415');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('x'));
    const bad = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/x`, { data: {} }, 'application/json');
    assert.equal(bad.status, 415);
    assert.equal(bad.json().reason, 'UnsupportedMediaType');
  });

  test('a patch that sets a stale resourceVersion is 409', async () => {
    const ns = await ts.namespace('patchrv');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('x', { a: '1' }));
    await admin.patch(`/api/v1/namespaces/${ns}/configmaps/x`, { data: { a: '2' } }, 'application/merge-patch+json');
    const res = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/x`, { metadata: { resourceVersion: obj.metadata.resourceVersion }, data: { a: '3' } }, 'application/merge-patch+json');
    assert.equal(res.status, 409);
    assert.equal(res.json().reason, 'Conflict');
  });

  test('server-side apply: create, conflicts between managers, force', async () => {
    const ns = await ts.namespace('ssa');
    const path = `/api/v1/namespaces/${ns}/configmaps/applied`;
    const apply = (manager: string, data: Record<string, string>, force = false): ReturnType<Client['patch']> =>
      admin.patch(`${path}?fieldManager=${manager}${force ? '&force=true' : ''}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data }, 'application/apply-patch+yaml');

    const created = await apply('alice', { a: '1', shared: 'x' });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json().metadata.managedFields.map((m: { manager: string; operation: string }) => [m.manager, m.operation]), [['alice', 'Apply']]);

    const again = await apply('alice', { a: '1', shared: 'x' });
    assert.equal(again.status, 200, again.text);

    const conflict = await apply('bob', { shared: 'y' });
    assert.equal(conflict.status, 409, conflict.text);
    const status = conflict.json();
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "alice": .data.shared');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.shared' }]);
    assert.equal((await admin.get(path)).json().data.shared, 'x');

    const forced = await apply('bob', { shared: 'y' }, true);
    assert.equal(forced.status, 200, forced.text);
    const obj = forced.json();
    assert.deepEqual(obj.data, { a: '1', shared: 'y' });
    const owners = Object.fromEntries(obj.metadata.managedFields.map((m: { manager: string; fieldsV1: object }) => [m.manager, JSON.stringify(m.fieldsV1)]));
    assert.ok(owners.bob.includes('"f:shared"'));
    assert.ok(!owners.alice.includes('"f:shared"'));
    assert.ok(owners.alice.includes('"f:a"'));

    // a manager that stops applying a field it alone owns removes it
    const shrink = await apply('alice', {});
    assert.equal(shrink.status, 200, shrink.text);
    assert.deepEqual(shrink.json().data, { shared: 'y' });
  });

  test('apply needs a fieldManager; force is for apply only (422 PatchOptions)', async () => {
    const ns = await ts.namespace('ssaopts');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('x'));
    const noManager = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/x`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'application/apply-patch+yaml');
    assert.equal(noManager.status, 422, noManager.text);
    assert.equal(noManager.json().reason, 'Invalid');
    assert.equal(noManager.json().message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    assert.deepEqual(noManager.json().details.causes, [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }]);

    const force = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/x?force=true`, { data: {} }, 'application/merge-patch+json');
    assert.equal(force.status, 422, force.text);
    assert.equal(force.json().message, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  });
});

describe('delete', () => {
  test('an immediate delete answers a Success Status and the object is gone', async () => {
    const ns = await ts.namespace('del');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('d'));
    const res = await admin.delete(`/api/v1/namespaces/${ns}/configmaps/d`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'd', kind: 'configmaps', uid: obj.metadata.uid } });
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/d`)).status, 404);
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/configmaps/d`)).status, 404);
  });

  test('preconditions on uid and resourceVersion', async () => {
    const ns = await ts.namespace('precond');
    const obj = await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('d'));
    const byUid = await admin.delete(`/api/v1/namespaces/${ns}/configmaps/d`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } });
    assert.equal(byUid.status, 409);
    assert.equal(byUid.json().message, `Operation cannot be fulfilled on configmaps "d": Precondition failed: UID in precondition: not-the-uid, UID in object meta: ${obj.metadata.uid}`);
    const byRv = await admin.delete(`/api/v1/namespaces/${ns}/configmaps/d`, { preconditions: { resourceVersion: '1' } });
    assert.equal(byRv.status, 409);
    assert.equal(byRv.json().message, `Operation cannot be fulfilled on configmaps "d": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in meta: ${obj.metadata.resourceVersion}`);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/d`)).status, 200);
    const ok = await admin.delete(`/api/v1/namespaces/${ns}/configmaps/d`, { preconditions: { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion } });
    assert.equal(ok.status, 200);
  });

  test('an object with finalizers is marked, answered as itself, and goes when they are removed', async () => {
    const ns = await ts.namespace('final');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'f', finalizers: ['example.com/hold'] } });
    const res = await admin.delete(`/api/v1/namespaces/${ns}/configmaps/f`);
    assert.equal(res.status, 200, res.text);
    const marked = res.json();
    assert.equal(marked.kind, 'ConfigMap');
    assert.match(marked.metadata.deletionTimestamp, RFC3339);
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 0);
    const released = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/f`, [{ op: 'remove', path: '/metadata/finalizers' }], 'application/json-patch+json');
    assert.equal(released.status, 200, released.text);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/configmaps/f`)).status, 404);
  });

  test('a pod on a node is deleted gracefully: deletionTimestamp now, removal at a grace-0 delete', async () => {
    const ns = await ts.namespace('grace');
    await mustCreate(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName: `grace-node-${process.pid}` }));
    const before = Date.now();
    const res = await admin.delete(`/api/v1/namespaces/${ns}/pods/p`);
    assert.equal(res.status, 200, res.text);
    const marked = res.json();
    assert.equal(marked.kind, 'Pod');
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 30);
    const deadline = Date.parse(marked.metadata.deletionTimestamp);
    assert.ok(deadline >= Math.floor(before / 1000) * 1000 + 29_000 && deadline <= before + 31_000, marked.metadata.deletionTimestamp);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).status, 200);

    // a second, shorter delete shortens the grace period; a longer one does not lengthen it
    const longer = (await admin.delete(`/api/v1/namespaces/${ns}/pods/p?gracePeriodSeconds=60`)).json();
    assert.equal(longer.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
    const gone = await admin.delete(`/api/v1/namespaces/${ns}/pods/p`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    assert.equal(gone.status, 200, gone.text);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).status, 404);
  });

  test('a graceful pod is removed when its grace period ends', async () => {
    const ns = await ts.namespace('graceend');
    await mustCreate(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName: `graceend-node-${process.pid}` }));
    const res = await admin.delete(`/api/v1/namespaces/${ns}/pods/p?gracePeriodSeconds=1`);
    assert.equal(res.status, 200);
    assert.equal(res.json().metadata.deletionGracePeriodSeconds, 1);
    await waitFor('the pod to go at the end of its grace period', async () => (await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).status === 404, 5000);
  });

  test('a pod not bound to a node goes at once', async () => {
    const ns = await ts.namespace('unbound');
    await mustCreate(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }));
    const res = await admin.delete(`/api/v1/namespaces/${ns}/pods/p`);
    assert.equal(res.status, 200);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).status, 404);
  });

  test('deletecollection deletes what the selector matches', async () => {
    const ns = await ts.namespace('delcoll');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('x1', {}, { group: 'x' }));
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('x2', {}, { group: 'x' }));
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, cm('y1', {}, { group: 'y' }));
    const res = await admin.delete(`/api/v1/namespaces/${ns}/configmaps?labelSelector=group%3Dx`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().kind, 'ConfigMapList');
    const left = (await admin.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=group`)).json();
    assert.deepEqual(left.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['y1']);
  });

  test('namespace deletion removes its contents, then the namespace', async () => {
    const ns = await ts.namespace('nsdel');
    await mustCreate(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    await mustCreate(`/api/v1/namespaces/${ns}/secrets`, secret('s'));
    await mustCreate(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { nodeName: `nsdel-node-${process.pid}` }));

    const res = await admin.delete(`/api/v1/namespaces/${ns}`);
    assert.equal(res.status, 200, res.text);
    const marked = res.json();
    assert.equal(marked.kind, 'Namespace');
    assert.equal(marked.status.phase, 'Terminating');
    assert.ok(marked.metadata.deletionTimestamp);
    assert.deepEqual(marked.spec.finalizers, ['kubernetes']);

    // nothing new may be created in a terminating namespace
    const refused = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('late'));
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      reason: 'Forbidden',
      details: { name: 'late', kind: 'configmaps', causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] },
      code: 403,
    });

    await waitFor('the secret to go', async () => (await admin.get(`/api/v1/namespaces/${ns}/secrets/s`)).status === 404);
    // the graceful pod is being deleted; its node confirms with a grace-0 delete
    await waitFor('the pod to be marked', async () => (await admin.get(`/api/v1/namespaces/${ns}/pods/p`)).json().metadata?.deletionTimestamp);
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/pods/p?gracePeriodSeconds=0`)).status, 200);
    // the held config map keeps the namespace until its finalizer goes
    await waitFor('the held config map to be marked', async () => (await admin.get(`/api/v1/namespaces/${ns}/configmaps/held`)).json().metadata?.deletionTimestamp);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}`)).json().status.phase, 'Terminating');
    await admin.patch(`/api/v1/namespaces/${ns}/configmaps/held`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
    await waitFor('the namespace to go', async () => (await admin.get(`/api/v1/namespaces/${ns}`)).status === 404);
    const leftovers = (await admin.get(`/api/v1/namespaces/${ns}/configmaps`)).json();
    assert.deepEqual(leftovers.items, []);
  });

  for (const name of ['default', 'kube-system', 'kube-public']) {
    test(`namespace ${name} cannot be deleted`, async () => {
      const res = await admin.delete(`/api/v1/namespaces/${name}`);
      assert.equal(res.status, 403);
      assert.equal(res.json().message, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
      assert.equal((await admin.get(`/api/v1/namespaces/${name}`)).json().metadata.deletionTimestamp, undefined);
    });
  }
});

describe('concurrent writers', () => {
  test('concurrent merge patches of one object all land, as GuaranteedUpdate retries lost races', async () => {
    const ns = await ts.namespace('concurrent');
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    await mustCreate(path, cm('shared'));
    const writers = 8;
    const perWriter = 5;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        (async () => {
          const codes: number[] = [];
          for (let i = 0; i < perWriter; i++) {
            const res = await admin.patch(`${path}/shared`, { data: { [`w${w}-${i}`]: 'x' } }, 'application/merge-patch+json');
            codes.push(res.status);
          }
          return codes;
        })(),
      ),
    );
    assert.deepEqual(results.flat().filter((c) => c !== 200), []);
    const final = (await admin.get(`${path}/shared`)).json();
    assert.equal(Object.keys(final.data).length, writers * perWriter);
  });
});
