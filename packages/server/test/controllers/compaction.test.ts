/**
 * The etcd compactor (controllers/compaction.ts) over a memory store that never compacts by
 * itself: each tick compacts to the revision seen at the previous tick. The interval is mocked.
 */
import { afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore, isStoreError, type Store } from '@boundtoken/store';
import { startCompactor } from '../../src/controllers/compaction.js';
import { StoreView } from '../cache/helpers.js';

const INTERVAL = 1000;
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function write(store: Store, n: number): Promise<number> {
  let rev = 0;
  for (let i = 0; i < n; i++) rev = (await store.create(`/registry/configmaps/a/c${Math.random()}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).revision;
  return rev;
}

async function tick(): Promise<void> {
  mock.timers.tick(INTERVAL);
  await settle();
}

afterEach(() => mock.timers.reset());

describe('compactor', () => {
  test('each tick compacts to the revision of the previous tick', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const store = createMemoryStore({ retainRevisions: 0 });
    const warnings: string[] = [];
    const first = await write(store, 3);
    const compactor = startCompactor(store, { warn: (_o, m) => warnings.push(m) }, INTERVAL);

    mock.timers.tick(INTERVAL - 1);
    await settle();
    await tick();
    assert.equal(await store.compactedRevision(), 0, 'the first tick only notes the revision');

    const second = await write(store, 2);
    await tick();
    assert.equal(await store.compactedRevision(), first);
    // the history between the two ticks stays readable; before the first one, not
    assert.equal((await store.list('/registry/', { revision: first })).items.length, 3);
    await assert.rejects(store.list('/registry/', { revision: first - 1 }), (err) => isStoreError(err, 'ERR_STORE_COMPACTED'));

    await tick();
    assert.equal(await store.compactedRevision(), second);
    // nothing written since: the next tick compacts to the same revision again (a no-op)
    await tick();
    assert.equal(await store.compactedRevision(), second);
    assert.deepEqual(warnings, []);

    compactor.stop();
    await write(store, 1);
    await tick();
    await tick();
    assert.equal(await store.compactedRevision(), second, 'no tick after stop()');
  });

  test('a failing store is logged and the next tick goes on', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const store = createMemoryStore({ retainRevisions: 0 });
    const view = new StoreView(store);
    const warnings: { err?: string; msg: string }[] = [];
    const first = await write(store, 2);
    const compactor = startCompactor(view, { warn: (o, msg) => warnings.push({ ...(o as { err?: string }), msg }) }, INTERVAL);
    await tick();
    await write(store, 2);
    view.outage = 'fail';
    await tick();
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.msg, 'compacting the store failed');
    assert.match(warnings[0]!.err ?? '', /unreachable/);
    assert.equal(await store.compactedRevision(), 0);

    view.outage = undefined;
    await tick();
    assert.equal(await store.compactedRevision(), first, 'the revision noted before the failure');
    compactor.stop();
  });
});
