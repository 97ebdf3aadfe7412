/**
 * The store conformance suite: what every backend (memory, SQLite, etcd) must do, as node:test
 * cases. A backend's test file calls `runStoreConformance(name, factory)`; `open()` must return an
 * empty store that nothing else writes to while a case runs.
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { isStoreError } from '../store.js';
import type { Store, StoreError, StoreErrorCode, StoreEvent, Watch } from '../store.js';

export interface StoreFactory {
  /** A new, empty store. */
  open(): Promise<Store>;
  /** The store last opened, opened again after `close()` — same data (backends that persist). */
  reopen?(): Promise<Store>;
  /** Called once after all cases. */
  close?(): Promise<void>;
}

const NS = '/registry/configmaps/ns/';

function cm(name: string, data: Record<string, string> = {}, namespace = 'ns'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function rv(obj: KubeObject): string | undefined {
  return obj.metadata?.resourceVersion;
}

async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(isStoreError(caught, code), `expected ${code}, got ${String((caught as Error)?.stack ?? caught)}`);
  return caught;
}

async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Records what a watch delivers. */
class Recorder {
  readonly events: StoreEvent[] = [];
  readonly errors: StoreError[] = [];
  readonly progress: number[] = [];
  /** Events and progress in delivery order. */
  readonly log: { kind: 'event' | 'progress'; revision: number }[] = [];
  readonly watch: Watch;

  constructor(store: Store, prefix: string, afterRevision?: number) {
    this.watch = store.watch(prefix, {
      ...(afterRevision !== undefined ? { afterRevision } : {}),
      onEvent: (e) => {
        this.events.push(e);
        this.log.push({ kind: 'event', revision: e.revision });
      },
      onError: (err) => this.errors.push(err),
      onProgress: (revision) => {
        this.progress.push(revision);
        this.log.push({ kind: 'progress', revision });
      },
    });
  }

  waitEvents(n: number): Promise<void> {
    return until(() => this.events.length >= n || this.errors.length > 0, `${n} watch events (have ${this.events.length})`).then(
      () => assert.deepEqual(this.errors, []),
    );
  }

  waitError(): Promise<StoreError> {
    return until(() => this.errors.length > 0, 'a watch error').then(() => this.errors[0]!);
  }

  revisions(): number[] {
    return this.events.map((e) => e.revision);
  }
}

export function runStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close();
    });
    after(async () => {
      await factory.close?.();
    });

    test('create then get returns the value stamped with its revision', async () => {
      assert.equal(typeof store.backend, 'string');
      const before = await store.currentRevision();
      const created = await store.create(`${NS}a`, cm('a', { k: 'v' }));
      assert.ok(created.revision > before);
      assert.equal(created.key, `${NS}a`);
      assert.deepEqual(created.value, { ...cm('a', { k: 'v' }), metadata: { name: 'a', namespace: 'ns', resourceVersion: String(created.revision) } });
      const got = await store.get(`${NS}a`);
      assert.deepEqual(got, created);
      assert.equal(await store.get(`${NS}missing`), undefined);
      assert.equal(await store.currentRevision(), created.revision);
    });

    test('create of an existing key fails with EXISTS and changes nothing', async () => {
      const first = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const err = await rejectsWith(store.create(`${NS}a`, cm('a', { n: '2' })), 'ERR_STORE_EXISTS');
      assert.equal(err.key, `${NS}a`);
      assert.deepEqual((await store.get(`${NS}a`))?.value['data'], { n: '1' });
      assert.equal(await store.currentRevision(), first.revision);
    });

    test('a deleted key can be created again', async () => {
      await store.create(`${NS}a`, cm('a', { n: '1' }));
      await store.delete(`${NS}a`);
      const again = await store.create(`${NS}a`, cm('a', { n: '2' }));
      assert.deepEqual((await store.get(`${NS}a`))?.value['data'], { n: '2' });
      assert.equal((await store.get(`${NS}a`))?.revision, again.revision);
    });

    test('update with the current revision succeeds, with a stale one fails with CONFLICT', async () => {
      const v1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const v2 = await store.update(`${NS}a`, cm('a', { n: '2' }), v1.revision);
      assert.ok(v2.revision > v1.revision);
      assert.equal(rv(v2.value), String(v2.revision));
      const err = await rejectsWith(store.update(`${NS}a`, cm('a', { n: 'stale' }), v1.revision), 'ERR_STORE_CONFLICT');
      assert.equal(err.revision, v2.revision, 'a conflict carries the current revision');
      assert.equal(err.key, `${NS}a`);
      assert.deepEqual((await store.get(`${NS}a`))?.value['data'], { n: '2' });
      const v3 = await store.update(`${NS}a`, cm('a', { n: '3' }));
      assert.ok(v3.revision > v2.revision, 'an update without a precondition always applies');
      assert.equal(await store.currentRevision(), v3.revision);
    });

    test('update and delete of a missing key fail with NOT_FOUND', async () => {
      await rejectsWith(store.update(`${NS}missing`, cm('missing')), 'ERR_STORE_NOT_FOUND');
      await rejectsWith(store.update(`${NS}missing`, cm('missing'), 1), 'ERR_STORE_NOT_FOUND');
      await rejectsWith(store.delete(`${NS}missing`), 'ERR_STORE_NOT_FOUND');
      await rejectsWith(store.delete(`${NS}missing`, 1), 'ERR_STORE_NOT_FOUND');
      const gone = await store.create(`${NS}gone`, cm('gone'));
      await store.delete(`${NS}gone`);
      await rejectsWith(store.update(`${NS}gone`, cm('gone'), gone.revision), 'ERR_STORE_NOT_FOUND');
    });

    test('delete honours its precondition and returns the last value at the deletion revision', async () => {
      const v1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const v2 = await store.update(`${NS}a`, cm('a', { n: '2' }));
      const err = await rejectsWith(store.delete(`${NS}a`, v1.revision), 'ERR_STORE_CONFLICT');
      assert.equal(err.revision, v2.revision);
      assert.ok(await store.get(`${NS}a`), 'a failed delete leaves the key');
      const deleted = await store.delete(`${NS}a`, v2.revision);
      assert.ok(deleted.revision > v2.revision);
      assert.deepEqual(deleted.value['data'], { n: '2' });
      assert.equal(rv(deleted.value), String(deleted.revision));
      assert.equal(await store.get(`${NS}a`), undefined);
      assert.equal(await store.currentRevision(), deleted.revision);
    });

    test('every write gets a new store-wide revision; failed writes get none', async () => {
      let last = await store.currentRevision();
      const writes: (() => Promise<{ revision: number }>)[] = [
        () => store.create(`${NS}a`, cm('a')),
        () => store.create('/registry/secrets/other/b', cm('b', {}, 'other')),
        () => store.update(`${NS}a`, cm('a', { x: '1' })),
        () => store.create(`${NS}c`, cm('c')),
        () => store.delete('/registry/secrets/other/b'),
        () => store.update(`${NS}c`, cm('c', { y: '1' })),
      ];
      for (const write of writes) {
        const { revision } = await write();
        assert.ok(revision > last, `revision ${revision} after ${last}`);
        last = revision;
        assert.equal(await store.currentRevision(), revision);
      }
      await rejectsWith(store.create(`${NS}a`, cm('a')), 'ERR_STORE_EXISTS');
      await rejectsWith(store.update(`${NS}a`, cm('a'), 1), 'ERR_STORE_CONFLICT');
      await rejectsWith(store.delete(`${NS}zzz`), 'ERR_STORE_NOT_FOUND');
      assert.equal(await store.currentRevision(), last);
    });

    test('resourceVersion is the store’s: ignored on input, stamped on every output', async () => {
      const input = cm('a');
      (input.metadata as { resourceVersion?: string }).resourceVersion = '999999';
      const created = await store.create(`${NS}a`, input);
      assert.equal(rv(created.value), String(created.revision));
      const bare = await store.create(`${NS}bare`, { kind: 'Thing', spec: { n: 1 } });
      assert.deepEqual(bare.value, { kind: 'Thing', spec: { n: 1 }, metadata: { resourceVersion: String(bare.revision) } });
      assert.equal(rv((await store.get(`${NS}bare`))!.value), String(bare.revision));
      const listed = await store.list(NS);
      for (const item of listed.items) assert.equal(rv(item.value), String(item.revision));
    });

    test('values go in and come out as copies', async () => {
      const input = cm('a', { k: 'original' });
      const created = await store.create(`${NS}a`, input);
      (input['data'] as Record<string, string>)['k'] = 'mutated input';
      (created.value['data'] as Record<string, string>)['k'] = 'mutated output';
      const got1 = await store.get(`${NS}a`);
      assert.deepEqual(got1?.value['data'], { k: 'original' });
      (got1!.value['data'] as Record<string, string>)['k'] = 'mutated get';
      const got2 = await store.get(`${NS}a`);
      assert.deepEqual(got2?.value['data'], { k: 'original' });
      assert.notEqual(got1!.value, got2!.value);
      const listed = await store.list(NS);
      (listed.items[0]!.value['data'] as Record<string, string>)['k'] = 'mutated list';
      assert.deepEqual((await store.get(`${NS}a`))?.value['data'], { k: 'original' });

      const w1 = new Recorder(store, NS, created.revision);
      const w2 = new Recorder(store, NS, created.revision);
      await store.update(`${NS}a`, cm('a', { k: 'second' }));
      await w1.waitEvents(1);
      await w2.waitEvents(1);
      assert.notEqual(w1.events[0]!.value, w2.events[0]!.value);
      (w1.events[0]!.value['data'] as Record<string, string>)['k'] = 'mutated event';
      assert.deepEqual(w2.events[0]!.value['data'], { k: 'second' });
      assert.deepEqual((await store.get(`${NS}a`))?.value['data'], { k: 'second' });
      w1.watch.stop();
      w2.watch.stop();
    });

    test('values round-trip exactly (unicode, nesting, large)', async () => {
      const value: KubeObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'u', namespace: 'ns', labels: { 'a.b/c': 'd' } },
        data: { text: 'grüße 日本 🎉 "quoted" \\ back\nslash', big: 'x'.repeat(512 * 1024) },
        nested: { list: [1, 2.5, null, true, { deep: [] }], empty: {} },
      };
      const created = await store.create(`${NS}u`, value);
      const got = await store.get(`${NS}u`);
      assert.deepEqual(got?.value, { ...value, metadata: { ...value.metadata, resourceVersion: String(created.revision) } });
    });

    test('list returns the keys under a prefix, in key order, respecting prefix boundaries', async () => {
      const keys = [
        '/registry/configmaps/ns/b',
        '/registry/configmaps/ns2/a',
        '/registry/configmaps/ns/a',
        '/registry/configmaps/n/a',
        '/registry/configmapsx/ns/a',
        '/registry/configmaps/ns/c',
      ];
      for (const key of keys) await store.create(key, cm(key.split('/').pop()!));
      const ns = await store.list('/registry/configmaps/ns/');
      assert.deepEqual(
        ns.items.map((i) => i.key),
        ['/registry/configmaps/ns/a', '/registry/configmaps/ns/b', '/registry/configmaps/ns/c'],
      );
      assert.equal(ns.more, false);
      assert.equal(ns.revision, await store.currentRevision());
      const all = await store.list('/registry/configmaps/');
      assert.deepEqual(
        all.items.map((i) => i.key),
        [
          '/registry/configmaps/n/a',
          '/registry/configmaps/ns/a',
          '/registry/configmaps/ns/b',
          '/registry/configmaps/ns/c',
          '/registry/configmaps/ns2/a',
        ],
      );
      for (const item of all.items) assert.equal(item.value.metadata?.resourceVersion, String(item.revision));
      assert.deepEqual((await store.list('/registry/nothing/')).items, []);
      const exact = await store.list('/registry/configmaps/ns', { limit: 3 });
      assert.deepEqual(
        exact.items.map((i) => i.key),
        ['/registry/configmaps/ns/a', '/registry/configmaps/ns/b', '/registry/configmaps/ns/c'],
      );
      assert.equal(exact.more, true, 'ns2 follows');
      const three = await store.list('/registry/configmaps/ns/', { limit: 3 });
      assert.equal(three.more, false, 'a limit that fits exactly has nothing more');
      assert.deepEqual((await store.list('/registry/configmaps/ns/', { startAfter: '/registry/configmaps/ns/c' })).items, []);
      assert.equal((await store.list('/registry/configmaps/ns/', { startAfter: '/registry/a' })).items.length, 3);
    });

    test('paging with limit and startAfter at a fixed revision sees one snapshot while writes continue', async () => {
      const originals = new Map<string, number>();
      for (let i = 0; i < 10; i++) {
        const key = `${NS}k${String(i).padStart(2, '0')}`;
        originals.set(key, (await store.create(key, cm(`k${i}`, { gen: '1' }))).revision);
      }
      const page1 = await store.list(NS, { limit: 4 });
      assert.equal(page1.items.length, 4);
      assert.equal(page1.more, true);
      if (page1.remaining !== undefined) assert.equal(page1.remaining, 6);
      const at = page1.revision;
      // the world moves on between pages
      await store.update(`${NS}k05`, cm('k5', { gen: '2' }));
      await store.delete(`${NS}k07`);
      await store.create(`${NS}k04a`, cm('k4a', { gen: '2' }));
      await store.update(`${NS}k01`, cm('k1', { gen: '2' }));
      const seen = [...page1.items];
      let page = page1;
      while (page.more) {
        page = await store.list(NS, { limit: 4, startAfter: page.items[page.items.length - 1]!.key, revision: at });
        assert.equal(page.revision, at);
        seen.push(...page.items);
      }
      assert.deepEqual(
        seen.map((i) => [i.key, i.revision]),
        [...originals.entries()],
      );
      for (const item of seen) assert.deepEqual(item.value['data'], { gen: '1' });
      const now = await store.list(NS);
      assert.deepEqual(
        now.items.map((i) => i.key.slice(NS.length)),
        ['k00', 'k01', 'k02', 'k03', 'k04', 'k04a', 'k05', 'k06', 'k08', 'k09'],
      );
    });

    test('list at a past revision shows the state of then; a future revision fails', async () => {
      const a1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const b1 = await store.create(`${NS}b`, cm('b', { n: '1' }));
      const then = b1.revision;
      await store.update(`${NS}a`, cm('a', { n: '2' }));
      await store.delete(`${NS}b`);
      await store.create(`${NS}c`, cm('c'));
      const past = await store.list(NS, { revision: then });
      assert.equal(past.revision, then);
      assert.deepEqual(
        past.items.map((i) => [i.key, i.revision, i.value['data']]),
        [
          [`${NS}a`, a1.revision, { n: '1' }],
          [`${NS}b`, b1.revision, { n: '1' }],
        ],
      );
      assert.deepEqual((await store.list(NS, { revision: a1.revision - 1 })).items, []);
      const current = await store.currentRevision();
      assert.equal((await store.list(NS, { revision: current })).items.length, 2);
      await rejectsWith(store.list(NS, { revision: current + 1 }), 'ERR_STORE_FUTURE_REVISION');
    });

    test('watch from a revision replays the changes after it, then follows live ones', async () => {
      const start = await store.currentRevision();
      const a1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const a2 = await store.update(`${NS}a`, cm('a', { n: '2' }));
      await store.create('/registry/configmaps/ns2/x', cm('x', {}, 'ns2'));
      const b1 = await store.create(`${NS}b`, cm('b', { n: '1' }));
      const del = await store.delete(`${NS}a`);
      const w = new Recorder(store, NS, start);
      await w.waitEvents(4);
      const b2 = await store.update(`${NS}b`, cm('b', { n: '2' }));
      await w.waitEvents(5);
      w.watch.stop();
      const summary = w.events.map((e) => ({
        type: e.type,
        key: e.key,
        revision: e.revision,
        rv: rv(e.value),
        data: e.value['data'],
        prev: e.prevValue ? [rv(e.prevValue), e.prevValue['data']] : undefined,
      }));
      assert.deepEqual(summary, [
        { type: 'ADDED', key: `${NS}a`, revision: a1.revision, rv: String(a1.revision), data: { n: '1' }, prev: undefined },
        { type: 'MODIFIED', key: `${NS}a`, revision: a2.revision, rv: String(a2.revision), data: { n: '2' }, prev: [String(a1.revision), { n: '1' }] },
        { type: 'ADDED', key: `${NS}b`, revision: b1.revision, rv: String(b1.revision), data: { n: '1' }, prev: undefined },
        { type: 'DELETED', key: `${NS}a`, revision: del.revision, rv: String(del.revision), data: { n: '2' }, prev: [String(a2.revision), { n: '2' }] },
        { type: 'MODIFIED', key: `${NS}b`, revision: b2.revision, rv: String(b2.revision), data: { n: '2' }, prev: [String(b1.revision), { n: '1' }] },
      ]);
      assert.deepEqual(w.errors, []);
    });

    test('watch without a revision starts now', async () => {
      await store.create(`${NS}before`, cm('before'));
      const w = new Recorder(store, NS);
      const after = await store.create(`${NS}after`, cm('after'));
      await w.waitEvents(1);
      assert.deepEqual(w.revisions(), [after.revision]);
      w.watch.stop();
    });

    test('watch from a future revision delivers only the changes after it', async () => {
      const now = await store.currentRevision();
      const w = new Recorder(store, NS, now + 2);
      await store.create(`${NS}a`, cm('a'));
      await store.create(`${NS}b`, cm('b'));
      const third = await store.create(`${NS}c`, cm('c'));
      await w.waitEvents(1);
      assert.deepEqual(w.revisions(), [third.revision]);
      w.watch.stop();
    });

    test('many concurrent watchers each get exactly their events, in order', async () => {
      const start = await store.currentRevision();
      const onNs = Array.from({ length: 25 }, () => new Recorder(store, NS, start));
      const onNs2 = Array.from({ length: 5 }, () => new Recorder(store, '/registry/configmaps/ns2/', start));
      const everything = new Recorder(store, '/registry/', start);
      const expectedNs: number[] = [];
      const expectedNs2: number[] = [];
      const all: number[] = [];
      for (let i = 0; i < 30; i++) {
        const inNs = i % 3 !== 0;
        const key = inNs ? `${NS}k${i}` : `/registry/configmaps/ns2/k${i}`;
        const { revision } = await store.create(key, cm(`k${i}`));
        (inNs ? expectedNs : expectedNs2).push(revision);
        all.push(revision);
      }
      // concurrent writes too
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(`${NS}burst${i}`, cm(`burst${i}`))));
      const burstRevs = burst.map((b) => b.revision).sort((a, b) => a - b);
      expectedNs.push(...burstRevs);
      all.push(...burstRevs);
      for (const w of onNs) await w.waitEvents(expectedNs.length);
      for (const w of onNs2) await w.waitEvents(expectedNs2.length);
      await everything.waitEvents(all.length);
      // a last write on each prefix: nothing unexpected may arrive before it
      const s1 = await store.create(`${NS}sentinel`, cm('s'));
      const s2 = await store.create('/registry/configmaps/ns2/sentinel', cm('s'));
      expectedNs.push(s1.revision);
      expectedNs2.push(s2.revision);
      for (const w of onNs) await w.waitEvents(expectedNs.length);
      for (const w of onNs2) await w.waitEvents(expectedNs2.length);
      for (const w of onNs) assert.deepEqual(w.revisions(), expectedNs);
      for (const w of onNs2) assert.deepEqual(w.revisions(), expectedNs2);
      assert.deepEqual(everything.revisions().slice(0, all.length), all);
      for (const w of [...onNs, ...onNs2, everything]) w.watch.stop();
    });

    test('a stopped watch delivers nothing more and reports no error', async () => {
      const w = new Recorder(store, NS);
      const sentinel = new Recorder(store, NS);
      const first = await store.create(`${NS}a`, cm('a'));
      await w.waitEvents(1);
      w.watch.stop();
      w.watch.stop();
      await store.update(`${NS}a`, cm('a', { n: '2' }));
      await store.delete(`${NS}a`);
      await sentinel.waitEvents(3);
      assert.deepEqual(w.revisions(), [first.revision]);
      assert.deepEqual(w.errors, []);
      sentinel.watch.stop();
    });

    test('progress reports never run ahead of undelivered events', async () => {
      const start = await store.currentRevision();
      const w = new Recorder(store, NS, start);
      const mine: number[] = [];
      for (let i = 0; i < 5; i++) {
        mine.push((await store.create(`${NS}p${i}`, cm(`p${i}`))).revision);
        await store.create(`/registry/configmaps/other/p${i}`, cm(`p${i}`, {}, 'other'));
      }
      const last = await store.currentRevision();
      await w.waitEvents(mine.length);
      await until(() => w.progress.some((p) => p >= last), `progress up to ${last}`);
      let delivered = 0;
      let previous = -1;
      for (const entry of w.log) {
        if (entry.kind === 'event') {
          delivered = entry.revision;
          continue;
        }
        assert.ok(entry.revision >= previous, 'progress never goes backwards');
        assert.ok(entry.revision >= delivered, 'progress is not behind a delivered event');
        const pending = mine.filter((r) => r <= entry.revision && r > delivered);
        assert.deepEqual(pending, [], `progress ${entry.revision} came before events ${pending.join(',')}`);
        previous = entry.revision;
      }
      w.watch.stop();
    });

    test('compaction: reads and watches before it fail with COMPACTED, after it still work', async () => {
      const a1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const a2 = await store.update(`${NS}a`, cm('a', { n: '2' }));
      const b1 = await store.create(`${NS}b`, cm('b', { n: '1' }));
      const live = new Recorder(store, NS);
      await store.compact(b1.revision);
      assert.equal(await store.compactedRevision(), b1.revision);
      const a3 = await store.update(`${NS}a`, cm('a', { n: '3' }));
      await rejectsWith(store.list(NS, { revision: a1.revision }), 'ERR_STORE_COMPACTED');
      const atCompaction = await store.list(NS, { revision: b1.revision });
      assert.deepEqual(
        atCompaction.items.map((i) => [i.key, i.revision, i.value['data']]),
        [
          [`${NS}a`, a2.revision, { n: '2' }],
          [`${NS}b`, b1.revision, { n: '1' }],
        ],
      );
      const old = new Recorder(store, NS, a1.revision);
      const err = await old.waitError();
      assert.equal(err.code, 'ERR_STORE_COMPACTED');
      if (err.revision !== undefined) assert.equal(err.revision, b1.revision);
      assert.deepEqual(old.events, [], 'a compacted watch delivers nothing');
      const fromCompaction = new Recorder(store, NS, b1.revision);
      await fromCompaction.waitEvents(1);
      assert.equal(fromCompaction.events[0]!.type, 'MODIFIED');
      assert.equal(fromCompaction.events[0]!.revision, a3.revision);
      assert.equal(rv(fromCompaction.events[0]!.prevValue!), String(a2.revision));
      // a watch that was live when compaction happened carries on
      await live.waitEvents(1);
      assert.deepEqual(live.revisions(), [a3.revision]);
      assert.deepEqual(live.errors, []);
      // compacting to an older revision is a no-op; to a future one is an error
      await store.compact(a1.revision);
      assert.equal(await store.compactedRevision(), b1.revision);
      await rejectsWith(store.compact((await store.currentRevision()) + 10), 'ERR_STORE_FUTURE_REVISION');
      for (const w of [live, old, fromCompaction]) w.watch.stop();
    });

    test('compaction keeps deleted keys out of snapshots and keeps the latest value of live ones', async () => {
      await store.create(`${NS}gone`, cm('gone'));
      const kept = await store.create(`${NS}kept`, cm('kept', { n: '1' }));
      await store.delete(`${NS}gone`);
      const c = await store.currentRevision();
      await store.compact(c);
      const listed = await store.list(NS, { revision: c });
      assert.deepEqual(
        listed.items.map((i) => [i.key, i.revision]),
        [[`${NS}kept`, kept.revision]],
      );
      assert.deepEqual((await store.get(`${NS}kept`))?.revision, kept.revision);
      await store.create(`${NS}gone`, cm('gone', { again: 'yes' }));
      assert.deepEqual((await store.get(`${NS}gone`))?.value['data'], { again: 'yes' });
    });

    test('concurrent compare-and-swap updates: exactly one wins', async () => {
      const v = await store.create(`${NS}cas`, cm('cas', { n: '0' }));
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.update(`${NS}cas`, cm('cas', { n: String(i + 1) }), v.revision)),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      const winner = (won[0] as PromiseFulfilledResult<{ revision: number; value: KubeObject }>).value;
      for (const r of lost) {
        const err = (r as PromiseRejectedResult).reason as StoreError;
        assert.ok(isStoreError(err, 'ERR_STORE_CONFLICT'), String(err));
        assert.equal(err.revision, winner.revision);
      }
      assert.deepEqual((await store.get(`${NS}cas`))?.value['data'], winner.value['data']);

      const creates = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.create(`${NS}once`, cm('once', { n: String(i) }))));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of creates.filter((c) => c.status === 'rejected')) {
        assert.ok(isStoreError((r as PromiseRejectedResult).reason, 'ERR_STORE_EXISTS'));
      }

      const deletes = await Promise.allSettled(Array.from({ length: 5 }, () => store.delete(`${NS}once`)));
      assert.equal(deletes.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of deletes.filter((d) => d.status === 'rejected')) {
        assert.ok(isStoreError((r as PromiseRejectedResult).reason, 'ERR_STORE_NOT_FOUND'));
      }
    });

    test('caller misuse throws TypeError and writes nothing', async () => {
      const before = await store.currentRevision();
      const bad: [string, () => unknown][] = [
        ['empty key', () => store.create('', cm('a'))],
        ['non-string key', () => store.get(42 as unknown as string)],
        ['null value', () => store.create(`${NS}a`, null as unknown as KubeObject)],
        ['array value', () => store.create(`${NS}a`, [] as unknown as KubeObject)],
        ['string metadata', () => store.create(`${NS}a`, { metadata: 'x' } as unknown as KubeObject)],
        ['bigint in value', () => store.create(`${NS}a`, { n: 1n } as unknown as KubeObject)],
        ['zero expectedRevision', () => store.update(`${NS}a`, cm('a'), 0)],
        ['fractional expectedRevision', () => store.delete(`${NS}a`, 1.5)],
        ['negative limit', () => store.list(NS, { limit: -1 })],
        ['negative revision', () => store.list(NS, { revision: -1 })],
        ['non-integer compaction', () => store.compact(1.5)],
      ];
      for (const [what, call] of bad) {
        await assert.rejects(
          (async () => call())(),
          (err) => err instanceof TypeError,
          what,
        );
      }
      assert.throws(() => store.watch(NS, { afterRevision: -1, onEvent() {}, onError() {} }), TypeError);
      assert.equal(await store.currentRevision(), before);
      assert.equal(await store.get(`${NS}a`), undefined);
    });

    test('ping answers while open', async () => {
      await store.ping();
    });

    test('close ends watches with CLOSED and refuses further calls', async () => {
      const w = new Recorder(store, NS);
      await store.create(`${NS}a`, cm('a'));
      await w.waitEvents(1);
      await store.close();
      const err = await w.waitError();
      assert.equal(err.code, 'ERR_STORE_CLOSED');
      await rejectsWith(store.get(`${NS}a`), 'ERR_STORE_CLOSED');
      await rejectsWith(store.create(`${NS}b`, cm('b')), 'ERR_STORE_CLOSED');
      const late = new Recorder(store, NS);
      assert.equal((await late.waitError()).code, 'ERR_STORE_CLOSED');
      await store.close();
    });

    test('survives a restart: same data, revisions continue, watches resume', { skip: factory.reopen ? false : 'the backend does not persist' }, async () => {
      const a1 = await store.create(`${NS}a`, cm('a', { n: '1' }));
      const b1 = await store.create(`${NS}b`, cm('b', { n: '1' }));
      const a2 = await store.update(`${NS}a`, cm('a', { n: '2' }));
      const gone = await store.create(`${NS}gone`, cm('gone'));
      const del = await store.delete(`${NS}gone`, gone.revision);
      const before = await store.list(NS);
      const revision = await store.currentRevision();
      await store.close();
      store = await factory.reopen!();
      assert.equal(await store.currentRevision(), revision);
      assert.deepEqual(await store.list(NS), before);
      assert.deepEqual(await store.get(`${NS}a`), { key: `${NS}a`, value: a2.value, revision: a2.revision });
      assert.equal(await store.get(`${NS}gone`), undefined);
      const c1 = await store.create(`${NS}c`, cm('c'));
      assert.ok(c1.revision > revision, 'revisions continue upwards after a restart');
      const w = new Recorder(store, NS, a1.revision);
      await w.waitEvents(5);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.key, e.revision]),
        [
          ['ADDED', `${NS}b`, b1.revision],
          ['MODIFIED', `${NS}a`, a2.revision],
          ['ADDED', `${NS}gone`, gone.revision],
          ['DELETED', `${NS}gone`, del.revision],
          ['ADDED', `${NS}c`, c1.revision],
        ],
      );
      assert.equal(rv(w.events[1]!.prevValue!), String(a1.revision));
      const listedThen = await store.list(NS, { revision: b1.revision });
      assert.deepEqual(
        listedThen.items.map((i) => [i.key, i.revision]),
        [
          [`${NS}a`, a1.revision],
          [`${NS}b`, b1.revision],
        ],
      );
      w.watch.stop();
    });
  });
}
