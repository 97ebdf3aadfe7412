import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryStore, isStoreError } from '@boundtoken/store';
import type { StoreEvent } from '@boundtoken/store';
import { runStoreConformance } from '@boundtoken/store/testing';

runStoreConformance('memory', { open: async () => createMemoryStore() });

describe('memory store history', () => {
  test('history is bounded: old revisions are compacted automatically', async () => {
    const store = createMemoryStore({ retainRevisions: 20 });
    const first = await store.create('/registry/configmaps/ns/a', { data: { n: 0 } });
    for (let i = 1; i <= 100; i++) {
      await store.update('/registry/configmaps/ns/a', { data: { n: i } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const current = await store.currentRevision();
    const compacted = await store.compactedRevision();
    assert.ok(compacted >= current - 22 && compacted <= current - 20, `compacted ${compacted} of ${current}`);
    await assert.rejects(store.list('/registry/', { revision: first.revision }), (err) => isStoreError(err, 'ERR_STORE_COMPACTED'));
    const recent = await store.list('/registry/', { revision: current - 20 });
    assert.equal(recent.items.length, 1);
    await store.close();
  });

  test('a live watcher sees every event of a burst even when the burst outgrows the history', async () => {
    const store = createMemoryStore({ retainRevisions: 10 });
    const events: StoreEvent[] = [];
    const errors: unknown[] = [];
    store.watch('/registry/', { onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
    const writes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.create(`/registry/configmaps/ns/k${i}`, { data: { i } })),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      events.map((e) => e.revision),
      writes.map((w) => w.revision),
    );
    assert.ok((await store.compactedRevision()) > 0);
    await store.close();
  });

  test('retainRevisions 0 keeps everything', async () => {
    const store = createMemoryStore({ retainRevisions: 0 });
    for (let i = 0; i < 50; i++) await store.create(`/registry/configmaps/ns/k${i}`, {});
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await store.compactedRevision(), 0);
    assert.equal((await store.list('/registry/', { revision: 1 })).items.length, 1);
    await store.close();
  });

  test('invalid options are caller misuse', () => {
    assert.throws(() => createMemoryStore({ retainRevisions: -1 }), TypeError);
  });
});

describe('memory store watchers and compaction', () => {
  test('a watcher that lags behind a long burst keeps its history (up to ten windows)', async () => {
    const store = createMemoryStore({ retainRevisions: 500 });
    const seen: number[] = [];
    const errors: unknown[] = [];
    store.watch('/registry/', { afterRevision: 0, onEvent: (e) => seen.push(e.revision), onError: (e) => errors.push(e) });
    // 3000 writes in one turn: catch-up is paced (1000 records per turn), so the watcher lags
    // behind the window of 500 for a few turns, but by less than ten windows
    const writes = await Promise.all(Array.from({ length: 3000 }, (_, i) => store.create(`/registry/configmaps/ns/k${i}`, {})));
    while (seen.length < writes.length && errors.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      seen,
      writes.map((w) => w.revision),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok((await store.compactedRevision()) >= 3000 - 500 - 50, 'and once it caught up, history shrinks again');
    await store.close();
  });

  test('a watcher more than ten windows behind is expired with COMPACTED', async () => {
    const store = createMemoryStore({ retainRevisions: 10 });
    const errors: { code: string }[] = [];
    let seen = 0;
    store.watch('/registry/', { afterRevision: 0, onEvent: () => seen++, onError: (e) => errors.push(e) });
    // 5000 writes in one turn: far more than the watcher reads per turn and than ten windows
    await Promise.all(Array.from({ length: 5000 }, (_, i) => store.create(`/registry/configmaps/ns/k${i}`, {})));
    while (errors.length === 0 && seen < 5000) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      errors.map((e) => e.code),
      ['ERR_STORE_COMPACTED'],
    );
    assert.ok(seen < 5000);
    assert.ok((await store.compactedRevision()) >= 5000 - 100);
    await store.close();
  });
});
