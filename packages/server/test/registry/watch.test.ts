/**
 * Watches over HTTPS: replay from a resourceVersion, ADDED/MODIFIED/DELETED, selector transitions,
 * 410 as an ERROR event, initial events with their bookmark, Table events, single-object watches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore, type Store } from '@boundtoken/store';
import type { Client, WatchEvent, WatchStream } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

let ts: TestServer;
let admin: Client;
let seedRevision: number;
const open: WatchStream[] = [];

before(async () => {
  // begin with some history, so the watch cache starts above revision 1 and an old RV is too old
  const store: Store = createMemoryStore();
  await store.create('/registry/namespaces/seeded', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'seeded', uid: 'seeded-uid', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  for (const n of ['a', 'b', 'c']) {
    await store.create(`/registry/configmaps/seeded/${n}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, namespace: 'seeded', uid: `uid-${n}`, creationTimestamp: '2026-01-01T00:00:00Z' } });
  }
  seedRevision = await store.currentRevision();
  ts = await startTestServer({ store });
  admin = ts.admin;
});
after(async () => {
  for (const w of open) w.close();
  await ts?.close();
});

async function watch(path: string, headers?: Record<string, string>): Promise<WatchStream> {
  const w = await admin.watch(path, headers);
  open.push(w);
  return w;
}

function cm(name: string, labels?: Record<string, string>, data?: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, ...(data ? { data } : {}) };
}

function summary(e: WatchEvent): [string, string] {
  return [e.type, e.object.metadata?.name];
}

async function events(w: WatchStream, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for (let i = 0; i < n; i++) out.push(await w.next());
  return out;
}

describe('watch', () => {
  test('replays from a resourceVersion: ADDED, MODIFIED, DELETED in order', async () => {
    const ns = await ts.namespace('replay');
    const list = (await admin.get(`/api/v1/namespaces/${ns}/configmaps`)).json();
    const rv = list.metadata.resourceVersion;
    const created = (await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('r', undefined, { v: '1' }))).json();
    const modified = (await admin.patch(`/api/v1/namespaces/${ns}/configmaps/r`, { data: { v: '2' } }, 'application/merge-patch+json')).json();
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/configmaps/r`)).status, 200);

    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}`);
    assert.equal(w.status, 200);
    assert.equal(w.headers['content-type'], 'application/json');
    assert.equal(w.headers['transfer-encoding'], 'chunked');
    const [a, m, d] = await events(w, 3);
    assert.deepEqual([a, m, d].map(summary), [['ADDED', 'r'], ['MODIFIED', 'r'], ['DELETED', 'r']]);
    assert.equal(a!.object.metadata.resourceVersion, created.metadata.resourceVersion);
    assert.equal(m!.object.metadata.resourceVersion, modified.metadata.resourceVersion);
    assert.equal(m!.object.data.v, '2');
    assert.ok(Number(d!.object.metadata.resourceVersion) > Number(modified.metadata.resourceVersion));
    assert.equal(a!.object.kind, 'ConfigMap');
    assert.deepEqual(await w.drain(100), []);
    w.close();
  });

  test('without a resourceVersion: ADDED for what exists, then the changes', async () => {
    const ns = await ts.namespace('current');
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('x1'));
    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true`);
    const initial = await events(w, 2);
    assert.deepEqual(initial.map(summary), [['ADDED', 'kube-root-ca.crt'], ['ADDED', 'x1']]);
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('x2'));
    assert.deepEqual(summary(await w.next()), ['ADDED', 'x2']);
    // another namespace's changes do not show
    await admin.post('/api/v1/namespaces/default/configmaps', cm(`elsewhere-${process.pid}`));
    await admin.delete(`/api/v1/namespaces/${ns}/configmaps/x1`);
    assert.deepEqual(summary(await w.next()), ['DELETED', 'x1']);
    w.close();
  });

  test('resourceVersion=0 also starts from the current state', async () => {
    const ns = await ts.namespace('rvzero');
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('z'));
    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=0&labelSelector=%21nothing`);
    assert.deepEqual((await events(w, 2)).map(summary), [['ADDED', 'kube-root-ca.crt'], ['ADDED', 'z']]);
    w.close();
  });

  test('a label selector turns label changes into ADDED and DELETED', async () => {
    const ns = await ts.namespace('transitions');
    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=app%3Dweb`);
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await admin.post(base, cm('t'));
    await admin.patch(`${base}/t`, { metadata: { labels: { app: 'web' } } }, 'application/merge-patch+json');
    assert.deepEqual(summary(await w.next()), ['ADDED', 't']);
    await admin.patch(`${base}/t`, { data: { k: 'v' } }, 'application/merge-patch+json');
    const mod = await w.next();
    assert.deepEqual(summary(mod), ['MODIFIED', 't']);
    assert.equal(mod.object.data.k, 'v');
    await admin.patch(`${base}/t`, { metadata: { labels: { app: 'db' } } }, 'application/merge-patch+json');
    const gone = await w.next();
    assert.deepEqual(summary(gone), ['DELETED', 't']);
    assert.equal(gone.object.metadata.labels.app, 'db');
    await admin.delete(`${base}/t`);
    assert.deepEqual(await w.drain(150), []);
    w.close();
  });

  test('a field selector (kubectl get -w on one object) follows only that object', async () => {
    const ns = await ts.namespace('fieldwatch');
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await admin.post(base, cm('one'));
    await admin.post(base, cm('two'));
    const w = await watch(`${base}?watch=1&fieldSelector=metadata.name%3Done`);
    assert.deepEqual(summary(await w.next()), ['ADDED', 'one']);
    await admin.patch(`${base}/two`, { data: { a: 'b' } }, 'application/merge-patch+json');
    await admin.patch(`${base}/one`, { data: { a: 'b' } }, 'application/merge-patch+json');
    assert.deepEqual(summary(await w.next()), ['MODIFIED', 'one']);
    assert.deepEqual(await w.drain(100), []);
    w.close();
  });

  test('the deprecated /watch/ path with a name follows only that object', async () => {
    const ns = await ts.namespace('pathwatch');
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await admin.post(base, cm('one'));
    await admin.post(base, cm('two'));
    const w = await watch(`/api/v1/watch/namespaces/${ns}/configmaps/one`);
    assert.equal(w.status, 200);
    assert.deepEqual(summary(await w.next()), ['ADDED', 'one']);
    await admin.delete(`${base}/two`);
    await admin.delete(`${base}/one`);
    assert.deepEqual(summary(await w.next()), ['DELETED', 'one']);
    assert.deepEqual(await w.drain(100), []);
    w.close();
  });

  test('a named GET with ?watch=1 is a plain get', async () => {
    const ns = await ts.namespace('namedget');
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('g'));
    const res = await admin.get(`/api/v1/namespaces/${ns}/configmaps/g?watch=1`);
    assert.equal(res.status, 200);
    assert.equal(res.json().metadata.name, 'g');
  });

  test('a resourceVersion older than the watch cache is a 410 ERROR event', async () => {
    const w = await watch('/api/v1/namespaces/seeded/configmaps?watch=1&resourceVersion=1');
    assert.equal(w.status, 200);
    const e = await w.next();
    assert.equal(e.type, 'ERROR');
    assert.equal(e.object.kind, 'Status');
    assert.equal(e.object.apiVersion, 'v1');
    assert.equal(e.object.status, 'Failure');
    assert.equal(e.object.reason, 'Expired');
    assert.equal(e.object.code, 410);
    assert.match(e.object.message, /^too old resource version: 1 \(\d+\)$/);
    await w.ended;
  });

  test('the seeded state is served, and a watch from its revision sees only later changes', async () => {
    const list = (await admin.get('/api/v1/namespaces/seeded/configmaps')).json();
    assert.deepEqual(list.items.map((i: { metadata: { name: string } }) => i.metadata.name).filter((n: string) => n !== 'kube-root-ca.crt'), ['a', 'b', 'c']);
    const w = await watch(`/api/v1/namespaces/seeded/configmaps?watch=1&resourceVersion=${seedRevision}&fieldSelector=metadata.name%21%3Dkube-root-ca.crt`);
    await admin.patch('/api/v1/namespaces/seeded/configmaps/b', { data: { x: 'y' } }, 'application/merge-patch+json');
    assert.deepEqual(summary(await w.next()), ['MODIFIED', 'b']);
    w.close();
  });

  test('a malformed resourceVersion is 400', async () => {
    const res = await admin.get('/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc');
    assert.equal(res.status, 400);
    assert.equal(res.json().reason, 'BadRequest');
  });

  test('sendInitialEvents: the current state, then a bookmark marking its end', async () => {
    const ns = await ts.namespace('initial');
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('i1'));
    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    const [e1, e2, bm] = await events(w, 3);
    assert.deepEqual([e1, e2].map((e) => summary(e!)), [['ADDED', 'i1'], ['ADDED', 'kube-root-ca.crt']].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)));
    assert.equal(bm!.type, 'BOOKMARK');
    assert.equal(bm!.object.kind, 'ConfigMap');
    assert.equal(bm!.object.apiVersion, 'v1');
    assert.deepEqual(bm!.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
    assert.ok(Number(bm!.object.metadata.resourceVersion) >= Number(e1!.object.metadata.resourceVersion));
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('i2'));
    assert.deepEqual(summary(await w.next()), ['ADDED', 'i2']);
    w.close();
  });

  test('allowWatchBookmarks: a BOOKMARK with the current resourceVersion every minute', async (t) => {
    const ns = await ts.namespace('bookmarks');
    // the server arms its bookmark interval when the watch starts: mock setInterval around that
    t.mock.timers.enable({ apis: ['setInterval'] });
    const w = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${seedRevision}&fieldSelector=metadata.name%3Dnothing`);
    const created = (await admin.post(`/api/v1/namespaces/${ns}/configmaps`, cm('later'))).json();
    assert.deepEqual(await w.drain(50), []);
    t.mock.timers.tick(60_000);
    const bm = await w.next();
    assert.equal(bm.type, 'BOOKMARK');
    assert.equal(bm.object.kind, 'ConfigMap');
    assert.equal(bm.object.apiVersion, 'v1');
    assert.equal(bm.object.metadata.annotations, undefined);
    assert.ok(Number(bm.object.metadata.resourceVersion) >= Number(created.metadata.resourceVersion), JSON.stringify(bm));
    w.close();
  });

  test('timeoutSeconds ends the stream', async () => {
    const started = Date.now();
    const w = await watch('/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1');
    await w.ended;
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 5000, `${took} ms`);
  });

  test('Table events: columns once, one row each', async () => {
    const ns = await ts.namespace('tablewatch');
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 's1' }, type: 'Opaque', stringData: { a: 'b' } });
    const w = await watch(`/api/v1/namespaces/${ns}/secrets?watch=1`, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    });
    assert.equal(w.headers['content-type'], 'application/json;as=Table;v=v1;g=meta.k8s.io');
    const first = await w.next();
    assert.equal(first.type, 'ADDED');
    assert.equal(first.object.kind, 'Table');
    assert.equal(first.object.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(first.object.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Type', 'Data', 'Age']);
    assert.equal(first.object.rows.length, 1);
    assert.deepEqual(first.object.rows[0].cells.slice(0, 3), ['s1', 'Opaque', 1]);
    assert.equal(first.object.rows[0].object.kind, 'PartialObjectMetadata');
    assert.equal(first.object.rows[0].object.metadata.name, 's1');
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 's2' }, type: 'Opaque' });
    const second = await w.next();
    assert.equal(second.object.kind, 'Table');
    assert.equal(second.object.columnDefinitions?.length ?? 0, 0);
    assert.deepEqual(second.object.rows[0].cells.slice(0, 3), ['s2', 'Opaque', 0]);
    w.close();
  });

  test('a cluster-wide watch sees every namespace', async () => {
    const w = await watch('/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Dwatched-ns-' + process.pid);
    await admin.post('/api/v1/namespaces', { metadata: { name: `watched-ns-${process.pid}` } });
    const e = await w.next();
    assert.deepEqual(summary(e), ['ADDED', `watched-ns-${process.pid}`]);
    w.close();
  });
});
