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
