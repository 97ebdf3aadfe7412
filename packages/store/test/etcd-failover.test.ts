import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { isStoreError, openEtcdStore } from '@boundtoken/store';
import type { Store, StoreError, StoreEvent } from '@boundtoken/store';
import { startEtcdCluster } from '@boundtoken/store/testing';
import type { EtcdCluster, EtcdMember } from '@boundtoken/store/testing';

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster({ members: 3 });
});
after(async () => {
  await cluster?.stop();
});

async function leader(): Promise<EtcdMember> {
  for (const member of cluster.members) {
    if (member.pid === undefined) continue;
    const raw = new Etcd3({ hosts: member.clientUrl });
    try {
      const status = await raw.maintenance.status({});
      if (status.header.member_id === status.leader) return member;
    } catch {
      // this one is not answering
    } finally {
      raw.close();
    }
  }
  throw new Error('no leader');
}

interface Run {
  acked: number[];
  keys: string[];
  failures: StoreError[];
}

/** Writes new keys one after another until `count` of them are acknowledged. */
async function write(store: Store, tag: string, count: number, run: Run): Promise<void> {
  let ok = 0;
  for (let i = 0; ok < count; i++) {
    assert.ok(run.failures.length < 20, `too many failed writes: ${run.failures.map((f) => f.message).join('\n')}`);
    try {
      const key = `/registry/configmaps/failover/${tag}-${i}`;
      const { revision } = await store.create(key, { data: { i: String(i) } });
      run.acked.push(revision);
      run.keys.push(key);
      ok++;
    } catch (err) {
      // a write in flight when a member dies may fail, but only as unavailable/timeout
      assert.ok(isStoreError(err, 'ERR_STORE_UNAVAILABLE') || isStoreError(err, 'ERR_STORE_TIMEOUT'), String(err));
      run.failures.push(err);
    }
  }
}

test('a three-member cluster loses a member: reads, writes and a watch carry on without gaps', async (t) => {
  const store = await openEtcdStore({ endpoints: cluster.endpoints, requestTimeoutMs: 3000 });
  const events: StoreEvent[] = [];
  const errors: StoreError[] = [];
  const start = await store.currentRevision();
  const watch = store.watch('/registry/configmaps/failover/', {
    afterRevision: start,
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
  });
  const run: Run = { acked: [], keys: [], failures: [] };
  try {
    await write(store, 'before', 20, run);

    // the leader dies: a new one is elected, the client moves on
    const first = await leader();
    await first.kill();
    await write(store, 'no-leader', 30, run);
    for (const key of run.keys) assert.ok(await store.get(key), `read ${key}`);

    // it comes back; then a follower dies
    await first.restart();
    const lead = await leader();
    const follower = cluster.members.find((m) => m !== lead && m.pid !== undefined)!;
    await follower.kill();
    await write(store, 'no-follower', 30, run);
    await follower.restart();
    await write(store, 'healed', 10, run);
    t.diagnostic(`${run.acked.length} writes acknowledged, ${run.failures.length} failed while members died`);

    // the watch saw exactly what is stored, in order: no gap, no duplicate
    const listed = await store.list('/registry/configmaps/failover/');
    const stored = listed.items.map((i) => i.revision).sort((a, b) => a - b);
    for (const revision of run.acked) assert.ok(stored.includes(revision), `acknowledged write ${revision} is stored`);
    const deadline = Date.now() + 10_000;
    while (events.length < stored.length && errors.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(
      events.map((e) => e.revision),
      stored,
    );
    assert.ok(events.every((e) => e.type === 'ADDED'));
  } finally {
    watch.stop();
    await store.close();
  }
});

test('a watch whose member restarts resumes where it was: no gap, no duplicate', async () => {
  const single = await startEtcdCluster({ members: 1 });
  const store = await openEtcdStore({ endpoints: single.endpoints, requestTimeoutMs: 2000, watchRetryMs: 20_000 });
  const events: StoreEvent[] = [];
  const errors: StoreError[] = [];
  try {
    const start = await store.currentRevision();
    store.watch('/registry/', { afterRevision: start, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
    const run: Run = { acked: [], keys: [], failures: [] };
    await write(store, 'before', 10, run);
    while (events.length < 10) await new Promise((resolve) => setTimeout(resolve, 10));
    await single.members[0]!.kill();
    // while it is down, writes fail fast and cleanly
    await assert.rejects(store.create('/registry/configmaps/failover/down', {}), (err) =>
      isStoreError(err, 'ERR_STORE_UNAVAILABLE'),
    );
    await single.members[0]!.restart();
    await write(store, 'after', 10, run);
    const deadline = Date.now() + 10_000;
    while (events.length < run.acked.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      events.map((e) => e.revision),
      run.acked,
    );
  } finally {
    await store.close();
    await single.stop();
  }
});

test('the harness cleans up: stopped members are gone', async () => {
  const small = await startEtcdCluster({ members: 1 });
  const pid = small.members[0]!.pid!;
  assert.doesNotThrow(() => process.kill(pid, 0));
  await small.stop();
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});
