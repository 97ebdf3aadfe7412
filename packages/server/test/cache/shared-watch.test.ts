/**
 * A CacheGroup (cache/shared-watch.ts) over a real memory store: informers of several resources
 * listed at one revision and fed by one watch, advancing together; resuming after a lost watch;
 * relisting after the watch fell behind compaction.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import { createMemoryStore, StoreError, type Store } from '@boundtoken/store';
import { createInformer, type CacheEvent, type Informer, type InformerFeed } from '../../src/cache/informer.js';
import { createCacheGroup, type CacheGroup } from '../../src/cache/shared-watch.js';
import { alive, StoreView, until } from './helpers.js';

type Feedable = Informer & InformerFeed;

function obj(kind: string, ns: string, name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name, ...(ns ? { namespace: ns } : {}) }, data } as KubeObject;
}

const podKey = (ns: string, name: string): string => `/registry/pods/${ns}/${name}`;
const secretKey = (ns: string, name: string): string => `/registry/secrets/${ns}/${name}`;
const names = (objs: KubeObject[]): string[] => objs.map((o) => o.metadata!.name!).sort();

interface Setup {
  store: Store;
  group: CacheGroup;
  pods: Feedable;
  secrets: Feedable;
  nodes: Feedable;
  watchErrors: StoreError[];
}

const groups: CacheGroup[] = [];
afterEach(() => {
  for (const g of groups.splice(0)) g.stop();
});

function setup(store: Store, opts: { pageSize?: number; eventWindow?: number } = {}): Setup {
  const watchErrors: StoreError[] = [];
  const group = createCacheGroup({
    store,
    root: '/registry/',
    onWatchError: (err) => watchErrors.push(err),
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
  });
  groups.push(group);
  const make = (resource: string): Feedable => {
    const inf = createInformer({ prefix: `/registry/${resource}/`, ...(opts.eventWindow !== undefined ? { eventWindow: opts.eventWindow } : {}) });
    group.add(inf.prefix, inf);
    return inf;
  };
  return { store, group, pods: make('pods'), secrets: make('secrets'), nodes: make('nodes'), watchErrors };
}

describe('cache group: the initial list', () => {
  test('lists every member at one revision; keys of other resources are left out', async () => {
    const store = createMemoryStore();
    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    await store.create(podKey('b', 'p2'), obj('Pod', 'b', 'p2'));
    await store.create(secretKey('a', 's1'), obj('Secret', 'a', 's1'));
    await store.create('/registry/configmaps/a/c1', obj('ConfigMap', 'a', 'c1'));
    const rev = await store.currentRevision();
    const { group, pods, secrets, nodes } = setup(store);
    await group.start();

    for (const inf of [pods, secrets, nodes]) {
      await inf.synced();
      assert.equal(inf.revision, rev, inf.prefix);
    }
    assert.equal(group.revision, rev);
    assert.deepEqual(names(pods.list()), ['p1', 'p2']);
    assert.deepEqual(names(secrets.list()), ['s1']);
    assert.deepEqual(nodes.list(), []);
    assert.equal(pods.get('a', 'p1')?.metadata?.resourceVersion, '1');
  });

  test('pages through members larger than pageSize', async () => {
    const store = createMemoryStore();
    for (let i = 0; i < 7; i++) await store.create(podKey('a', `p${i}`), obj('Pod', 'a', `p${i}`));
    const { group, pods } = setup(store, { pageSize: 2 });
    await group.start();
    assert.equal(pods.list().length, 7);
  });

  test('the list revision is one snapshot: writes racing the start come through the watch', async () => {
    const store = createMemoryStore();
    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    const { group, pods, secrets } = setup(store);
    const started = group.start();
    // written while the first list is being read
    await store.create(secretKey('a', 's1'), obj('Secret', 'a', 's1'));
    await store.create(podKey('a', 'p2'), obj('Pod', 'a', 'p2'));
    await started;
    const rev = await store.currentRevision();
    await alive(group.waitFor(rev, 2000));
    assert.deepEqual(names(pods.list()), ['p1', 'p2']);
    assert.deepEqual(names(secrets.list()), ['s1']);
  });

  test('a group without members starts at once; misuse is a TypeError', async () => {
    const store = createMemoryStore();
    assert.throws(() => createCacheGroup({ store, root: '/registry' }), TypeError);
    const group = createCacheGroup({ store, root: '/registry/' });
    groups.push(group);
    const inf = createInformer({ prefix: '/registry/pods/' });
    assert.throws(() => group.add('/other/pods/', inf), TypeError);
    assert.throws(() => group.add('/registry/pods', inf), TypeError);
    assert.throws(() => group.add('/registry/pods/a/', inf), TypeError);
    group.add('/registry/pods/', inf);
    assert.throws(() => group.add('/registry/pods/', createInformer({ prefix: '/registry/pods/' })), TypeError);
    await group.start();
    await assert.rejects(group.start(), TypeError);
    assert.throws(() => group.add('/registry/nodes/', createInformer({ prefix: '/registry/nodes/' })), TypeError);
  });
});

describe('cache group: one watch for every member', () => {
  test('events reach their own cache, in store order', async () => {
    const store = createMemoryStore();
    const { group, pods, secrets } = setup(store);
    await group.start();
    const heard: string[] = [];
    pods.listen((e) => heard.push(`pods ${e.type} ${e.object.metadata!.name}@${e.revision}`));
    secrets.listen((e) => heard.push(`secrets ${e.type} ${e.object.metadata!.name}@${e.revision}`));

    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    await store.create(secretKey('a', 's1'), obj('Secret', 'a', 's1'));
    await store.update(podKey('a', 'p1'), obj('Pod', 'a', 'p1', { v: '2' }));
    await store.delete(secretKey('a', 's1'));
    await alive(group.waitFor(4, 2000));

    assert.deepEqual(heard, ['pods ADDED p1@1', 'secrets ADDED s1@2', 'pods MODIFIED p1@3', 'secrets DELETED s1@4']);
    assert.deepEqual((pods.get('a', 'p1') as { data?: object }).data, { v: '2' });
    assert.deepEqual(secrets.list(), []);
  });

  test('every cache advances with a change anywhere, even a resource nobody writes', async () => {
    const store = createMemoryStore();
    const { group, pods, secrets, nodes } = setup(store);
    await group.start();
    const v = await store.create(secretKey('a', 's1'), obj('Secret', 'a', 's1'));
    await alive(nodes.waitFor(v.revision, 2000));
    assert.equal(pods.revision, v.revision);
    assert.equal(nodes.revision, v.revision);
    assert.equal(secrets.revision, v.revision);
    // a write outside every member (and outside the root) moves them too, through store progress
    await store.create('/registry/configmaps/a/c1', obj('ConfigMap', 'a', 'c1'));
    const outside = await store.create('/elsewhere/x', obj('ConfigMap', '', 'x'));
    await alive(group.waitFor(outside.revision, 2000));
    assert.equal(pods.revision, outside.revision);
    assert.equal(nodes.revision, outside.revision);
    assert.deepEqual(nodes.eventsSince(0), [], 'no node changed since the (empty) list');
  });

  test('waitFor resolves when the caches reach the revision and rejects after the timeout', async () => {
    const store = createMemoryStore();
    const view = new StoreView(store);
    const { group } = setup(view);
    await group.start();
    await group.waitFor(0, 10);

    view.holdWatch();
    const v = await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    await assert.rejects(alive(group.waitFor(v.revision, 30)), /did not reach revision 1 within 30 ms \(at 0\)/);
    const pending = group.waitFor(v.revision, 2000);
    view.releaseWatch();
    await alive(pending);
    assert.equal(group.revision, v.revision);
  });

  test('stop() releases waiters and ends the watch', async () => {
    const store = createMemoryStore();
    const view = new StoreView(store);
    const { group, pods } = setup(view);
    await group.start();
    assert.equal(view.liveWatches, 1);
    const pending = group.waitFor(50, 5000);
    const onPods = pods.waitFor(50, 5000);
    group.stop();
    await pending;
    await onPods;
    assert.equal(view.liveWatches, 0);
    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(pods.list(), []);
    // after stop, waiting never hangs
    await group.waitFor(99, 5000);
  });
});

describe('cache group: a lost watch', () => {
  test('resumes from the last revision: no change is lost or repeated, no relist', async () => {
    const store = createMemoryStore();
    const view = new StoreView(store);
    const { group, pods, watchErrors } = setup(view);
    await group.start();
    const heard: string[] = [];
    pods.listen((e) => heard.push(`${e.type} ${e.object.metadata!.name}@${e.revision}`));
    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    await alive(group.waitFor(1, 2000));
    const listsBefore = view.calls.list;

    view.failWatches(new StoreError('ERR_STORE_UNAVAILABLE', 'connection reset'));
    await store.create(podKey('a', 'p2'), obj('Pod', 'a', 'p2'));
    await store.update(podKey('a', 'p1'), obj('Pod', 'a', 'p1', { v: '2' }));
    await alive(group.waitFor(3, 5000));

    assert.deepEqual(watchErrors.map((e) => e.code), ['ERR_STORE_UNAVAILABLE']);
    assert.deepEqual(heard, ['ADDED p1@1', 'ADDED p2@2', 'MODIFIED p1@3']);
    assert.equal(view.calls.list, listsBefore, 'a resumed watch does not relist');
    assert.equal(view.liveWatches, 1);
  });
});

describe('cache group: relist after compaction', () => {
  /**
   * The memory store hands every live watcher what it has not seen before it compacts (compact()
   * flushes), but a flush delivers at most one chunk (1000 records) per watcher: a watch more than
   * a chunk behind is still behind when the history goes, and then fails with ERR_STORE_COMPACTED.
   * So: write a chunk's worth elsewhere under the root without yielding, then the changes, then
   * compact to the newest revision.
   */
  async function fallBehindCompaction(store: Store, changes: () => Promise<void>): Promise<number> {
    for (let i = 0; i < 1000; i++) await store.create(`/registry/configmaps/pad/c${i}`, obj('ConfigMap', 'pad', `c${i}`));
    await changes();
    const rev = await store.currentRevision();
    await store.compact(rev);
    return rev;
  }

  test('tells each cache what was added, modified and deleted meanwhile', async () => {
    const store = createMemoryStore();
    await store.create(podKey('a', 'same'), obj('Pod', 'a', 'same'));
    await store.create(podKey('a', 'changed'), obj('Pod', 'a', 'changed'));
    await store.create(podKey('a', 'gone'), obj('Pod', 'a', 'gone'));
    await store.create(secretKey('a', 's1'), obj('Secret', 'a', 's1'));
    const view = new StoreView(store);
    const { group, pods, secrets, nodes, watchErrors } = setup(view);
    await group.start();
    const before = group.revision;
    const heard: CacheEvent[] = [];
    pods.listen((e) => heard.push(e));
    secrets.listen((e) => heard.push(e));
    const handled: string[] = [];
    pods.subscribe({
      add: (o) => handled.push(`add ${o.metadata!.name}`),
      update: (o, old) => handled.push(`update ${o.metadata!.name} ${old.metadata!.resourceVersion}->${o.metadata!.resourceVersion}`),
      delete: (o) => handled.push(`delete ${o.metadata!.name}`),
    });
    const listsBefore = view.calls.list;

    const rev = await fallBehindCompaction(store, async () => {
      await store.update(podKey('a', 'changed'), obj('Pod', 'a', 'changed', { v: '2' }));
      await store.delete(podKey('a', 'gone'));
      await store.create(podKey('b', 'new'), obj('Pod', 'b', 'new'));
      await store.delete(secretKey('a', 's1'));
      await store.create(secretKey('a', 's2'), obj('Secret', 'a', 's2'));
    });
    await alive(group.waitFor(rev, 5000));

    assert.deepEqual(watchErrors.map((e) => e.code), ['ERR_STORE_COMPACTED']);
    assert.ok(view.calls.list > listsBefore, 'the caches were relisted');
    const changedRev = (await store.get(podKey('a', 'changed')))!.revision;
    assert.deepEqual(handled.sort(), ['add new', 'delete gone', `update changed 2->${changedRev}`]);
    assert.deepEqual(
      heard.map((e) => `${e.type} ${e.object.metadata!.name}`).sort(),
      ['ADDED new', 'ADDED s2', 'DELETED gone', 'DELETED s1', 'MODIFIED changed'],
    );
    assert.deepEqual(names(pods.list()), ['changed', 'new', 'same']);
    assert.deepEqual(names(secrets.list()), ['s2']);
    for (const inf of [pods, secrets, nodes]) {
      assert.equal(inf.revision, rev);
      // watches from before the relist must start over (410)
      assert.equal(inf.eventsSince(before), undefined);
      assert.deepEqual(inf.eventsSince(rev), []);
    }

    // and the new watch follows live changes
    const v = await store.create(podKey('a', 'after'), obj('Pod', 'a', 'after'));
    await alive(group.waitFor(v.revision, 2000));
    assert.equal(pods.get('a', 'after')?.metadata?.resourceVersion, String(v.revision));
    assert.deepEqual(pods.eventsSince(rev)!.map((e) => `${e.type} ${e.object.metadata!.name}`), ['ADDED after']);
  });

  test('a relist that fails (store down) is retried until it works', async () => {
    const store = createMemoryStore();
    await store.create(podKey('a', 'p1'), obj('Pod', 'a', 'p1'));
    const view = new StoreView(store);
    const { group, pods, watchErrors } = setup(view);
    await group.start();
    const rev = await fallBehindCompaction(store, async () => {
      await store.delete(podKey('a', 'p1'));
      await store.create(podKey('a', 'p2'), obj('Pod', 'a', 'p2'));
      view.outage = 'fail';
    });
    await alive(until('the watch to fail', () => watchErrors.length > 0));
    const failedLists = view.calls.list;
    await alive(until('a relist attempt', () => view.calls.list > failedLists));
    assert.deepEqual(names(pods.list()), ['p1'], 'the caches keep serving the old state meanwhile');
    view.outage = undefined;
    await alive(group.waitFor(rev, 5000));
    assert.deepEqual(names(pods.list()), ['p2']);
  });
});
