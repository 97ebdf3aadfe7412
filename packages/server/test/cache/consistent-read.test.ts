/**
 * The consistent-read barrier (cache/consistent-read.ts) between a memory store and a cache group
 * fed from it, as one replica of several sees them: the store's revision is read through a view
 * that can fail or hang, and the view's watch can be held back (a lagging replica). The barrier's
 * clock is a fake one for `recent()`; its timeouts are real and short.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import { createMemoryStore, type Store } from '@boundtoken/store';
import { createReadBarrier, type Freshness, type ReadBarrier } from '../../src/cache/consistent-read.js';
import { createInformer, type Informer } from '../../src/cache/informer.js';
import { createCacheGroup, type CacheGroup } from '../../src/cache/shared-watch.js';
import { AdmissionChain } from '../../src/admission/types.js';
import { controllerContext } from '../../src/controllers/context.js';
import { Registry } from '../../src/registry/registry.js';
import { coreResources } from '../../src/registry/resources/core.js';
import { alive, StoreView } from './helpers.js';

const TIMEOUT_MS = 60;

/** Cache groups and registries to stop after each test. */
const groups: { stop(): void }[] = [];
afterEach(() => {
  for (const g of groups.splice(0)) g.stop();
});

interface Replica {
  store: Store;
  view: StoreView;
  group: CacheGroup;
  pods: Informer;
  barrier: ReadBarrier;
  clock: { t: number };
}

/** A replica's caches over `store`, with a barrier reading the revision through `currentRevision` (default: the view). */
async function replica(opts: { currentRevision?: (view: StoreView) => () => Promise<number> } = {}): Promise<Replica> {
  const store = createMemoryStore();
  const view = new StoreView(store);
  const group = createCacheGroup({ store: view, root: '/registry/' });
  groups.push(group);
  const pods = createInformer({ prefix: '/registry/pods/' });
  group.add(pods.prefix, pods);
  await group.start();
  const clock = { t: 1000 };
  const barrier = createReadBarrier({
    currentRevision: opts.currentRevision?.(view) ?? (() => view.currentRevision()),
    waitForCaches: (revision, timeoutMs) => group.waitFor(revision, timeoutMs),
    timeoutMs: TIMEOUT_MS,
    now: () => clock.t,
  });
  return { store, view, group, pods, barrier, clock };
}

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'a', name } };
}

/** Writes a pod straight into the shared store, as another replica would. */
async function writeElsewhere(r: Replica, name: string): Promise<number> {
  return (await r.store.create(`/registry/pods/a/${name}`, pod(name))).revision;
}

/** The answer if `p` settles before the next macrotask, else 'pending'. */
async function settledAtOnce<T>(p: Promise<T>): Promise<T | 'pending'> {
  const next = new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')));
  return Promise.race([p, next]);
}

/** A revision read whose answers the test releases one by one (each answers the revision at its call). */
function gatedReads(view: StoreView) {
  const pending: { revision: number; resolve: (rev: number) => void }[] = [];
  const read = async (): Promise<number> => {
    const revision = await view.currentRevision();
    return new Promise<number>((resolve) => pending.push({ revision, resolve }));
  };
  return {
    read,
    get started(): number {
      return view.calls.currentRevision;
    },
    /** Answers the oldest read in flight. */
    async answer(): Promise<number> {
      for (let i = 0; i < 10 && pending.length === 0; i++) await Promise.resolve();
      const r = pending.shift();
      if (!r) throw new Error('no revision read in flight');
      r.resolve(r.revision);
      return r.revision;
    },
  };
}

describe('read barrier: sync()', () => {
  test('fresh: waits until the caches hold a write acknowledged elsewhere', async () => {
    const r = await replica();
    r.view.holdWatch();
    await writeElsewhere(r, 'p1');
    assert.equal(r.pods.get('a', 'p1'), undefined, 'the lagging cache does not have it yet');
    const answer = r.barrier.sync();
    setTimeout(() => r.view.releaseWatch(), 10);
    assert.equal(await alive(answer), 'fresh');
    assert.ok(r.pods.get('a', 'p1'), 'a fresh answer means the cache holds the write');
    assert.equal(r.barrier.available, true);
  });

  test('fresh at once when nothing is outstanding; one store read per request', async () => {
    const r = await replica();
    await writeElsewhere(r, 'p1');
    assert.equal(await alive(r.barrier.sync()), 'fresh');
    assert.equal(await alive(r.barrier.sync()), 'fresh');
    assert.equal(r.view.calls.currentRevision, 2);
  });

  test('stale: the store answered, the caches did not catch up within the timeout', async () => {
    const r = await replica();
    r.view.holdWatch();
    await writeElsewhere(r, 'p1');
    assert.equal(await alive(r.barrier.sync()), 'stale');
    assert.equal(r.barrier.available, true, 'a lagging cache is not an unavailable store');
    r.view.releaseWatch();
    assert.equal(await alive(r.barrier.sync()), 'fresh');
  });

  test('unavailable: the store refuses; then answered at once (with one probe) until it is back', async () => {
    const r = await replica();
    r.view.outage = 'fail';
    assert.equal(await alive(r.barrier.sync()), 'unavailable');
    assert.equal(r.barrier.available, false);
    const reads = r.view.calls.currentRevision;

    const answers = await Promise.all([settledAtOnce(r.barrier.sync()), settledAtOnce(r.barrier.sync()), settledAtOnce(r.barrier.sync())]);
    assert.deepEqual(answers, ['unavailable', 'unavailable', 'unavailable']);
    assert.ok(r.view.calls.currentRevision > reads, 'requests probe the store');

    r.view.outage = undefined;
    await writeElsewhere(r, 'p1');
    // the next request probes; once a probe succeeded, the barrier is available again
    assert.equal(await alive(r.barrier.sync()), 'unavailable');
    await alive(new Promise((resolve) => setTimeout(resolve, 5)));
    assert.equal(r.barrier.available, true);
    assert.equal(await alive(r.barrier.sync()), 'fresh');
    assert.ok(r.pods.get('a', 'p1'));
  });

  test('unavailable: the store hangs; answered after the timeout, then at once while it still hangs', async () => {
    const r = await replica();
    r.view.outage = 'hang';
    assert.equal(await alive(r.barrier.sync()), 'unavailable');
    assert.equal(r.barrier.available, false, 'a read that timed out is a failed read');
    // no request waits for the hung store again: each answers at once (and one probe is in flight)
    const reads = r.view.calls.currentRevision;
    assert.equal(await settledAtOnce(r.barrier.sync()), 'unavailable');
    assert.equal(await settledAtOnce(r.barrier.sync()), 'unavailable');
    assert.equal(r.view.calls.currentRevision, reads + 1, 'one probe at a time');

    r.view.outage = undefined;
    // the hung probe times out; the next request's probe reaches the store
    await alive(new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 20)));
    assert.equal(await settledAtOnce(r.barrier.sync()), 'unavailable');
    await alive(new Promise((resolve) => setTimeout(resolve, 5)));
    assert.equal(r.barrier.available, true);
    assert.equal(await alive(r.barrier.sync()), 'fresh');
  });
});

describe('read barrier: concurrent requests share revision reads', () => {
  test('requests that arrive during a read wait for the next one, together', async () => {
    let gate!: ReturnType<typeof gatedReads>;
    const r = await replica({
      currentRevision: (view) => {
        gate = gatedReads(view);
        return gate.read;
      },
    });
    const order: string[] = [];
    const track = (name: string, p: Promise<Freshness>): Promise<void> => p.then((f) => void order.push(`${name} ${f}`));

    const a = track('a', r.barrier.sync());
    assert.equal(gate.started, 1);
    // b and c arrive after a's read was sent: its answer may predate them
    await writeElsewhere(r, 'p1');
    const b = track('b', r.barrier.sync());
    const c = track('c', r.barrier.sync());
    assert.equal(gate.started, 1, 'no second read while one is in flight');

    assert.equal(await gate.answer(), 0);
    await alive(a);
    assert.deepEqual(order, ['a fresh']);
    // one read for b and c together, sent after they arrived: it sees p1
    await alive(new Promise((resolve) => setImmediate(resolve)));
    assert.equal(gate.started, 2);
    const d = track('d', r.barrier.sync());
    assert.equal(await gate.answer(), 1);
    await alive(Promise.all([b, c]));
    assert.deepEqual(order, ['a fresh', 'b fresh', 'c fresh']);
    assert.ok(r.pods.get('a', 'p1'));

    // d arrived during the second read: it gets a third
    await alive(new Promise((resolve) => setImmediate(resolve)));
    assert.equal(gate.started, 3);
    await gate.answer();
    await alive(d);
    assert.deepEqual(order, ['a fresh', 'b fresh', 'c fresh', 'd fresh']);
  });

  test('many concurrent requests: two store reads', async () => {
    const r = await replica();
    const answers = await alive(Promise.all(Array.from({ length: 50 }, () => r.barrier.sync())));
    assert.deepEqual(new Set(answers), new Set(['fresh']));
    assert.equal(r.view.calls.currentRevision, 2);
  });
});

describe('read barrier: recent(maxStalenessMs)', () => {
  const MAX = 100;

  test('within half the bound: fresh at once, no store read', async () => {
    const r = await replica();
    assert.equal(await alive(r.barrier.recent(MAX)), 'fresh');
    assert.equal(r.view.calls.currentRevision, 1, 'the first call waits for a round');
    r.clock.t += MAX / 2;
    assert.equal(await settledAtOnce(r.barrier.recent(MAX)), 'fresh');
    assert.equal(r.view.calls.currentRevision, 1);
  });

  test('past half the bound: fresh at once, and one background round (however many requests)', async () => {
    const r = await replica();
    await alive(r.barrier.recent(MAX));
    r.clock.t += MAX * 0.75;
    const answers = await Promise.all([settledAtOnce(r.barrier.recent(MAX)), settledAtOnce(r.barrier.recent(MAX)), settledAtOnce(r.barrier.recent(MAX))]);
    assert.deepEqual(answers, ['fresh', 'fresh', 'fresh']);
    assert.equal(r.view.calls.currentRevision, 2);
    // that round makes the barrier fresh as of its start: later requests are answered without reads
    await alive(new Promise((resolve) => setTimeout(resolve, 5)));
    r.clock.t += MAX / 2 - 1;
    assert.equal(await settledAtOnce(r.barrier.recent(MAX)), 'fresh');
    assert.equal(r.view.calls.currentRevision, 2);
  });

  test('past the bound: waits for a round, like sync()', async () => {
    let gate!: ReturnType<typeof gatedReads>;
    const r = await replica({
      currentRevision: (view) => {
        gate = gatedReads(view);
        return gate.read;
      },
    });
    const first = r.barrier.recent(MAX);
    await gate.answer();
    assert.equal(await alive(first), 'fresh');
    r.clock.t += MAX + 1;
    const answer = r.barrier.recent(MAX);
    assert.equal(await settledAtOnce(answer), 'pending');
    assert.equal(gate.started, 2);
    await gate.answer();
    assert.equal(await alive(answer), 'fresh');
  });

  test('the bound: a write acknowledged less than maxStalenessMs ago may be missing, an older one not', async () => {
    const r = await replica();
    await alive(r.barrier.recent(MAX));
    const synced = r.clock.t;
    r.view.holdWatch();
    r.clock.t = synced + 10;
    await writeElsewhere(r, 'p1');
    // acknowledged 10 ms after the last round started: within the bound, the cache may lack it
    r.clock.t = synced + 40;
    assert.equal(await alive(r.barrier.recent(MAX)), 'fresh');
    assert.equal(r.pods.get('a', 'p1'), undefined);
    // past half the bound a background round reads the store, but the caches cannot catch up
    r.clock.t = synced + 60;
    assert.equal(await alive(r.barrier.recent(MAX)), 'fresh');
    await alive(new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 20)));
    // the write is now more than MAX old relative to the last fresh round: no longer fresh
    r.clock.t = synced + MAX + 1;
    assert.equal(await alive(r.barrier.recent(MAX)), 'stale');
    r.view.releaseWatch();
    assert.equal(await alive(r.barrier.recent(MAX)), 'fresh');
    assert.ok(r.pods.get('a', 'p1'));
  });

  test('an unavailable store: answered at once, with a probe', async () => {
    const r = await replica();
    r.view.outage = 'fail';
    assert.equal(await alive(r.barrier.recent(MAX)), 'unavailable');
    const reads = r.view.calls.currentRevision;
    assert.equal(await settledAtOnce(r.barrier.recent(MAX)), 'unavailable');
    assert.equal(r.view.calls.currentRevision, reads + 1);
    r.view.outage = undefined;
    // the next request still answers at once, and its probe finds the store back
    assert.equal(await settledAtOnce(r.barrier.recent(MAX)), 'unavailable');
    await alive(new Promise((resolve) => setTimeout(resolve, 5)));
    assert.equal(r.barrier.available, true);
    assert.equal(await alive(r.barrier.recent(MAX)), 'fresh');
  });
});

describe('Registry.sync() and syncRecent() on a shared store', () => {
  test('a replica reads what another acknowledged: sync waits for its lagging caches', async () => {
    const store = createMemoryStore();
    const make = async (consistentReads: boolean): Promise<{ view: StoreView; registry: Registry }> => {
      const view = new StoreView(store);
      const registry = new Registry({ store: view, defs: coreResources, admission: new AdmissionChain([]), consistentReads });
      await registry.start();
      groups.push(registry);
      return { view, registry };
    };
    const a = await make(true);
    const b = await make(true);
    const solo = await make(false);
    assert.equal(b.registry.sharedStore, true);
    assert.equal(solo.registry.sharedStore, false);
    const def = a.registry.def('', 'configmaps')!;

    b.view.holdWatch();
    solo.view.holdWatch();
    await a.registry.create(def, controllerContext('test'), 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' } });
    assert.equal(b.registry.get(def, 'default', 'c1'), undefined);
    // without consistent reads the caches count as fresh (this process made every write itself)
    assert.equal(await solo.registry.sync(), 'fresh');
    assert.equal(await solo.registry.syncRecent(100), 'fresh');
    assert.equal(solo.registry.get(def, 'default', 'c1'), undefined);

    const answer = b.registry.sync();
    setTimeout(() => b.view.releaseWatch(), 20);
    assert.equal(await alive(answer), 'fresh');
    assert.ok(b.registry.get(def, 'default', 'c1'));
    // a round just completed: within the bound, syncRecent answers without another store read
    const reads = b.view.calls.currentRevision;
    assert.equal(await b.registry.syncRecent(10_000), 'fresh');
    assert.equal(b.view.calls.currentRevision, reads);
    solo.view.releaseWatch();
  });
});
