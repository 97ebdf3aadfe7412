/**
 * The informer cache on its own (cache/informer.ts), fed by hand exactly as its CacheGroup feeds it:
 * the first list, store events in order, progress from other resources, relists. No store, no
 * timers except waitFor's: every step is deterministic.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import type { StoreEvent } from '@boundtoken/store';
import { createInformer, type CacheEvent } from '../../src/cache/informer.js';
import { alive } from './helpers.js';

const PREFIX = '/registry/pods/';

function pod(ns: string, name: string, rev: number, extra: { node?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns, name, resourceVersion: String(rev), ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { nodeName: extra.node ?? '' },
  } as KubeObject;
}

function event(type: StoreEvent['type'], obj: KubeObject): StoreEvent {
  const m = obj.metadata!;
  return { type, key: `${PREFIX}${m.namespace}/${m.name}`, value: obj, revision: Number(m.resourceVersion) };
}

const byNode = (p: KubeObject): string[] => [((p as { spec?: { nodeName?: string } }).spec?.nodeName ?? '')];
const byLabels = (p: KubeObject): string[] => Object.entries(p.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`);

function informer(eventWindow?: number) {
  return createInformer({
    prefix: PREFIX,
    indexers: { node: byNode, label: byLabels },
    ...(eventWindow !== undefined ? { eventWindow } : {}),
  });
}

const names = (objs: KubeObject[]): string[] => objs.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
const summary = (evs: CacheEvent[]): string[] => evs.map((e) => `${e.type} ${e.object.metadata?.name}@${e.revision}`);

describe('informer: the first list', () => {
  test('holds the listed objects, reports the list revision and resolves synced()', async () => {
    const inf = informer();
    let synced = false;
    void inf.synced().then(() => (synced = true));
    await Promise.resolve();
    assert.equal(synced, false, 'synced before the list');
    assert.equal(inf.revision, 0);

    inf.load([pod('a', 'p1', 3), pod('a', 'p2', 5), pod('b', 'p1', 7)], 10);
    await inf.synced();
    assert.equal(inf.revision, 10);
    assert.equal(inf.get('a', 'p2')?.metadata?.resourceVersion, '5');
    assert.equal(inf.get('b', 'p2'), undefined);
    assert.deepEqual(names(inf.list()), ['a/p1', 'a/p2', 'b/p1']);
    assert.deepEqual(names(inf.list('a')), ['a/p1', 'a/p2']);
    assert.deepEqual(inf.list('c'), []);
  });

  test('the first list notifies no handler and leaves the event window empty', () => {
    const inf = informer();
    const seen: string[] = [];
    inf.subscribe({ add: (o) => seen.push(`add ${o.metadata?.name}`) });
    inf.listen((e) => seen.push(`${e.type} ${e.object.metadata?.name}`));
    inf.load([pod('a', 'p1', 3)], 4);
    assert.deepEqual(seen, []);
    assert.deepEqual(inf.eventsSince(4), []);
  });

  test('cluster-scoped objects are filed under the namespace ""', () => {
    const inf = createInformer({ prefix: '/registry/nodes/' });
    inf.load([{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '2' } }], 2);
    assert.equal(inf.get('', 'n1')?.metadata?.name, 'n1');
    assert.deepEqual(inf.list('').map((o) => o.metadata?.name), ['n1']);
  });
});

describe('informer: events', () => {
  test('are applied in order and tell handlers and listeners, with the old object', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 3)], 3);
    const calls: string[] = [];
    inf.subscribe({
      add: (o) => calls.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
      update: (o, old) => calls.push(`update ${o.metadata?.name}@${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`),
      delete: (o) => calls.push(`delete ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    });
    const heard: CacheEvent[] = [];
    inf.listen((e) => heard.push(e));

    inf.apply(event('ADDED', pod('a', 'p2', 4)));
    inf.apply(event('MODIFIED', pod('a', 'p1', 5)));
    inf.apply(event('DELETED', pod('a', 'p2', 6)));

    assert.deepEqual(calls, ['add p2@4', 'update p1@3->5', 'delete p2@6']);
    assert.deepEqual(summary(heard), ['ADDED p2@4', 'MODIFIED p1@5', 'DELETED p2@6']);
    assert.equal(heard[1]!.old?.metadata?.resourceVersion, '3');
    assert.equal(heard[2]!.old?.metadata?.resourceVersion, '4', 'a deletion carries the cached object as old');
    assert.equal(inf.revision, 6);
    assert.deepEqual(names(inf.list()), ['a/p1']);
    assert.equal(inf.get('a', 'p1')?.metadata?.resourceVersion, '5');
  });

  test('a change at or before the cache revision is ignored (replayed by a resumed watch)', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 3)], 8);
    const heard: CacheEvent[] = [];
    inf.listen((e) => heard.push(e));
    inf.apply(event('MODIFIED', pod('a', 'p1', 8)));
    inf.apply(event('ADDED', pod('a', 'p9', 2)));
    assert.deepEqual(heard, []);
    assert.equal(inf.get('a', 'p1')?.metadata?.resourceVersion, '3');
    assert.equal(inf.get('a', 'p9'), undefined);
  });

  test('an unsubscribed handler and an unlistened listener hear nothing more', () => {
    const inf = informer();
    inf.load([], 1);
    const calls: string[] = [];
    const unsubscribe = inf.subscribe({ add: (o) => calls.push(`handler ${o.metadata?.name}`) });
    const unlisten = inf.listen((e) => calls.push(`listener ${e.object.metadata?.name}`));
    inf.apply(event('ADDED', pod('a', 'p1', 2)));
    unsubscribe();
    unlisten();
    inf.apply(event('ADDED', pod('a', 'p2', 3)));
    assert.deepEqual(calls, ['listener p1', 'handler p1']);
  });

  test('a throwing handler breaks neither the cache nor the other handlers', () => {
    const inf = informer();
    inf.load([], 1);
    const calls: string[] = [];
    inf.subscribe({
      add: () => {
        throw new Error('handler bug');
      },
    });
    inf.subscribe({ add: (o) => calls.push(o.metadata!.name!) });
    inf.apply(event('ADDED', pod('a', 'p1', 2)));
    inf.apply(event('ADDED', pod('a', 'p2', 3)));
    assert.deepEqual(calls, ['p1', 'p2']);
    assert.equal(inf.revision, 3);
    assert.deepEqual(names(inf.list()), ['a/p1', 'a/p2']);
  });

  test('progress from other resources advances the revision without events', () => {
    const inf = informer();
    inf.load([], 1);
    const heard: CacheEvent[] = [];
    inf.listen((e) => heard.push(e));
    inf.progress(9);
    assert.equal(inf.revision, 9);
    inf.progress(4);
    assert.equal(inf.revision, 9, 'the revision never goes back');
    assert.deepEqual(heard, []);
    assert.deepEqual(inf.eventsSince(1), []);
  });
});

describe('informer: indexes', () => {
  test('byIndex follows adds, updates that move an object, and deletes', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 2, { node: 'n1', labels: { app: 'x' } }), pod('b', 'p2', 3, { node: 'n1' }), pod('a', 'p3', 4)], 4);
    assert.deepEqual(names(inf.byIndex('node', 'n1')), ['a/p1', 'b/p2']);
    assert.deepEqual(names(inf.byIndex('node', '')), ['a/p3']);
    assert.deepEqual(names(inf.byIndex('label', 'app=x')), ['a/p1']);

    inf.apply(event('MODIFIED', pod('a', 'p1', 5, { node: 'n2', labels: { app: 'y' } })));
    assert.deepEqual(names(inf.byIndex('node', 'n1')), ['b/p2']);
    assert.deepEqual(names(inf.byIndex('node', 'n2')), ['a/p1']);
    assert.deepEqual(inf.byIndex('label', 'app=x'), []);
    assert.deepEqual(names(inf.byIndex('label', 'app=y')), ['a/p1']);

    inf.apply(event('DELETED', pod('b', 'p2', 6, { node: 'n1' })));
    assert.deepEqual(inf.byIndex('node', 'n1'), []);
    assert.deepEqual(inf.byIndex('node', 'nowhere'), []);
  });

  test('an object filed under several values is found under each', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 2, { labels: { app: 'x', tier: 'web' } })], 2);
    assert.deepEqual(names(inf.byIndex('label', 'app=x')), ['a/p1']);
    assert.deepEqual(names(inf.byIndex('label', 'tier=web')), ['a/p1']);
  });

  test('an unknown index is caller misuse (TypeError)', () => {
    const inf = informer();
    inf.load([], 1);
    assert.throws(() => inf.byIndex('nope', 'x'), TypeError);
  });
});

describe('informer: eventsSince', () => {
  /** A cache listed at 10 with events at 11..15 and a window of three. */
  function windowed() {
    const inf = informer(3);
    inf.load([], 10);
    for (let rev = 11; rev <= 15; rev++) inf.apply(event('ADDED', pod('a', `p${rev}`, rev)));
    return inf;
  }

  test('right after the list: everything after the list revision, and nothing before it', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 3)], 10);
    assert.deepEqual(inf.eventsSince(10), []);
    assert.equal(inf.eventsSince(9), undefined);
    inf.apply(event('ADDED', pod('a', 'p2', 11)));
    assert.deepEqual(summary(inf.eventsSince(10)!), ['ADDED p2@11']);
    assert.deepEqual(inf.eventsSince(11), []);
  });

  test('the events strictly after R, while R is within the window', () => {
    const inf = windowed();
    assert.deepEqual(summary(inf.eventsSince(12)!), ['ADDED p13@13', 'ADDED p14@14', 'ADDED p15@15']);
    assert.deepEqual(summary(inf.eventsSince(13)!), ['ADDED p14@14', 'ADDED p15@15']);
    assert.deepEqual(summary(inf.eventsSince(14)!), ['ADDED p15@15']);
    assert.deepEqual(inf.eventsSince(15), []);
    assert.deepEqual(inf.eventsSince(99), [], 'a revision ahead of the cache has nothing yet');
  });

  test('undefined once R is older than the window (the caller answers 410)', () => {
    const inf = windowed();
    // 13..15 are kept; the event at 12 was dropped, so "after 11" cannot be answered
    assert.equal(inf.eventsSince(11), undefined);
    assert.equal(inf.eventsSince(10), undefined);
    assert.equal(inf.eventsSince(0), undefined);
  });

  test('revisions of other resources inside the window are answerable', () => {
    const inf = informer(3);
    inf.load([], 10);
    inf.apply(event('ADDED', pod('a', 'p11', 11)));
    inf.progress(20);
    inf.apply(event('ADDED', pod('a', 'p21', 21)));
    assert.deepEqual(summary(inf.eventsSince(15)!), ['ADDED p21@21']);
    assert.deepEqual(summary(inf.eventsSince(10)!), ['ADDED p11@11', 'ADDED p21@21']);
  });
});

describe('informer: waitFor', () => {
  test('resolves at once for a revision the cache has reached', async () => {
    const inf = informer();
    inf.load([], 7);
    await inf.waitFor(7, 10);
    await inf.waitFor(3, 10);
  });

  test('resolves when an event or progress reaches the revision', async () => {
    const inf = informer();
    inf.load([], 7);
    const order: string[] = [];
    const w9 = inf.waitFor(9, 5000).then(() => order.push('9'));
    const w12 = inf.waitFor(12, 5000).then(() => order.push('12'));
    inf.apply(event('ADDED', pod('a', 'p', 8)));
    await Promise.resolve();
    assert.deepEqual(order, []);
    inf.apply(event('ADDED', pod('a', 'q', 10)));
    await w9;
    assert.deepEqual(order, ['9']);
    inf.progress(12);
    await w12;
    assert.deepEqual(order, ['9', '12']);
  });

  test('rejects after the timeout when the cache stays behind', async () => {
    const inf = informer();
    inf.load([], 7);
    // (waitFor's timer is unref'd: `alive` keeps the test process running meanwhile)
    await assert.rejects(alive(inf.waitFor(8, 20)), /did not reach revision 8 within 20 ms \(at 7\)/);
    // the expired waiter is gone: reaching the revision later is harmless
    inf.progress(8);
    await inf.waitFor(8, 10);
  });

  test('stop() releases every waiter', async () => {
    const inf = informer();
    inf.load([], 1);
    const w = inf.waitFor(100, 5000);
    inf.stop();
    await w;
  });
});

describe('informer: relist', () => {
  test('tells handlers and listeners what changed in between, and restarts the window', () => {
    const inf = informer();
    inf.load([pod('a', 'same', 2), pod('a', 'changed', 3), pod('a', 'gone', 4)], 5);
    inf.apply(event('ADDED', pod('a', 'seen', 6)));
    const calls: string[] = [];
    inf.subscribe({
      add: (o) => calls.push(`add ${o.metadata?.name}`),
      update: (o, old) => calls.push(`update ${o.metadata?.name} ${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`),
      delete: (o) => calls.push(`delete ${o.metadata?.name}`),
    });
    const heard: CacheEvent[] = [];
    inf.listen((e) => heard.push(e));

    inf.load([pod('a', 'same', 2), pod('a', 'changed', 40), pod('a', 'new', 41), pod('a', 'seen', 6)], 50);

    assert.deepEqual(calls.sort(), ['add new', 'delete gone', 'update changed 3->40']);
    const byName = new Map(heard.map((e) => [e.object.metadata!.name!, e]));
    assert.equal(byName.size, 3);
    assert.equal(byName.get('changed')!.type, 'MODIFIED');
    assert.equal(byName.get('changed')!.revision, 40);
    assert.equal(byName.get('new')!.type, 'ADDED');
    assert.equal(byName.get('gone')!.type, 'DELETED');
    assert.equal(byName.get('gone')!.revision, 50, 'a deletion found by a relist is dated at the list');
    assert.deepEqual(names(inf.list()), ['a/changed', 'a/new', 'a/same', 'a/seen']);
    assert.equal(inf.revision, 50);
    // watches from before the relist cannot be served from the window any more
    assert.equal(inf.eventsSince(6), undefined);
    assert.deepEqual(inf.eventsSince(50), []);
  });

  test('the window never reaches back across a relist, even after it overflows', () => {
    const inf = informer(2);
    inf.load([pod('a', 'p1', 3), pod('a', 'p2', 4)], 10);
    // p1 and p2 changed while the watch was lost: the relist reports them with their own, older revisions
    inf.load([pod('a', 'p1', 20), pod('a', 'p2', 30)], 100);
    inf.apply(event('ADDED', pod('a', 'p3', 101)));
    inf.apply(event('ADDED', pod('a', 'p4', 102)));
    // a watch from 25 would miss the change at 30 (and whatever else happened up to 100)
    assert.equal(inf.eventsSince(25), undefined);
    assert.equal(inf.eventsSince(99), undefined);
    assert.deepEqual(summary(inf.eventsSince(100)!), ['ADDED p3@101', 'ADDED p4@102']);
  });

  test('indexes follow a relist', () => {
    const inf = informer();
    inf.load([pod('a', 'p1', 2, { node: 'n1' }), pod('a', 'p2', 3, { node: 'n1' })], 3);
    inf.load([pod('a', 'p1', 9, { node: 'n2' })], 10);
    assert.deepEqual(inf.byIndex('node', 'n1'), []);
    assert.deepEqual(names(inf.byIndex('node', 'n2')), ['a/p1']);
  });
});
