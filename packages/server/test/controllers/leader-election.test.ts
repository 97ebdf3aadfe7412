/**
 * Leader election (controllers/leader-election.ts) between replicas: each replica is a Registry
 * with its own caches over its own view of ONE memory store, as server replicas share etcd. Short
 * durations (a 1–2 s Lease, 100 ms retry period) keep it fast; a monitor samples every few
 * milliseconds that there is never more than one leader.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '@boundtoken/api';
import { createMemoryStore, type Store } from '@boundtoken/store';
import { AdmissionChain } from '../../src/admission/types.js';
import { startLeaderElection, type LeaderElector } from '../../src/controllers/leader-election.js';
import { Registry } from '../../src/registry/registry.js';
import { coordinationResources } from '../../src/registry/resources/rbac.js';
import { sleep, StoreView, until } from '../cache/helpers.js';

const NAMESPACE = 'kube-system';
const LEASE = 'boundtoken-controllers';
const RETRY_MS = 100;
const RENEW_DEADLINE_MS = 500;

interface Candidate {
  identity: string;
  view: StoreView;
  registry: Registry;
  elector: LeaderElector;
  /** 'started' and 'stopped' in order. */
  events: string[];
  /** The holders reported through onNewLeader (as client-go, the candidate itself included). */
  leaders: string[];
  warnings: string[];
}

const cleanups: (() => unknown)[] = [];
const views: StoreView[] = [];
afterEach(async () => {
  // a failed test may leave a view hanging: end the outage so that stop() can release
  for (const v of views.splice(0)) v.outage = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One replica: its own caches over its own view of `store`. */
async function replica(store: Store): Promise<{ view: StoreView; registry: Registry }> {
  const view = new StoreView(store, 'etcd');
  views.push(view);
  const registry = new Registry({ store: view, defs: coordinationResources, admission: new AdmissionChain([]) });
  await registry.start();
  cleanups.push(() => registry.stop());
  return { view, registry };
}

function elect(rep: { view: StoreView; registry: Registry }, identity: string, leaseDurationSeconds = 1): Candidate {
  const events: string[] = [];
  const leaders: string[] = [];
  const warnings: string[] = [];
  const elector = startLeaderElection({
    registry: rep.registry,
    namespace: NAMESPACE,
    name: LEASE,
    identity,
    leaseDurationSeconds,
    renewDeadlineMs: RENEW_DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onNewLeader: (id) => leaders.push(id),
    log: { info: () => undefined, warn: (_o, m) => warnings.push(m) },
  });
  cleanups.push(() => elector.stop());
  return { identity, ...rep, elector, events, leaders, warnings };
}

async function candidate(store: Store, identity: string, leaseDurationSeconds = 1): Promise<Candidate> {
  return elect(await replica(store), identity, leaseDurationSeconds);
}

/** Samples every 2 ms how many candidates lead; `stop()` returns the highest count seen. */
function monitor(candidates: Candidate[]): { stop(): number } {
  let most = 0;
  const timer = setInterval(() => {
    most = Math.max(most, candidates.filter((c) => c.elector.isLeader()).length);
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return most;
    },
  };
}

async function lease(store: Store): Promise<Lease> {
  const v = await store.get<Lease>(`/registry/leases/${NAMESPACE}/${LEASE}`);
  assert.ok(v, 'the Lease exists');
  return v.value;
}

async function leaderAmong(candidates: Candidate[]): Promise<Candidate> {
  await until('a leader', () => candidates.some((c) => c.elector.isLeader()), 5000);
  return candidates.find((c) => c.elector.isLeader())!;
}

describe('leader election between replicas on one store', { timeout: 60_000 }, () => {
  test('exactly one of two replicas leads, and holds the Lease', async () => {
    const store = createMemoryStore();
    const [a, b] = await Promise.all([replica(store), replica(store)]);
    const both = [elect(a, 'replica-a'), elect(b, 'replica-b')];
    const m = monitor(both);
    const leader = await leaderAmong(both);
    const follower = both.find((c) => c !== leader)!;
    await sleep(RETRY_MS * 5);
    assert.ok(m.stop() <= 1, 'never two leaders');
    assert.equal(leader.elector.isLeader(), true);
    assert.equal(follower.elector.isLeader(), false);
    assert.deepEqual(leader.events, ['started']);
    assert.deepEqual(follower.events, []);
    assert.deepEqual(follower.leaders, [leader.identity], 'the follower learns who leads');

    const l = await lease(store);
    assert.equal(l.spec?.holderIdentity, leader.identity);
    assert.equal(l.spec?.leaseDurationSeconds, 1);
    assert.equal(l.spec?.leaseTransitions, 0);
    assert.match(l.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
    // the leader keeps renewing
    const renewed = l.spec!.renewTime!;
    await sleep(RETRY_MS * 2);
    assert.notEqual((await lease(store)).spec?.renewTime, renewed);
  });

  test("the leader's stop() releases the Lease and the other takes over within about a retry period", async () => {
    const store = createMemoryStore();
    // a long Lease: a takeover before it expires can only come from the release
    const a = await candidate(store, 'replica-a', 30);
    await until('a to lead', () => a.elector.isLeader());
    const b = await candidate(store, 'replica-b', 30);
    await sleep(RETRY_MS * 2);
    assert.equal(b.elector.isLeader(), false);
    const acquiredByA = (await lease(store)).spec?.acquireTime;

    const m = monitor([a, b]);
    const stoppedAt = Date.now();
    await a.elector.stop();
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.events, ['started', 'stopped']);
    await until('b to take over', () => b.elector.isLeader(), 5000);
    const tookMs = Date.now() - stoppedAt;
    assert.ok(m.stop() <= 1, 'never two leaders');
    assert.ok(tookMs < RETRY_MS * 5, `took over ${tookMs} ms after the release (retry period ${RETRY_MS} ms)`);

    const l = await lease(store);
    assert.equal(l.spec?.holderIdentity, 'replica-b');
    assert.equal(l.spec?.leaseTransitions, 1, 'a change of holder is a transition, released or not');
    assert.notEqual(l.spec?.acquireTime, acquiredByA);
  });

  test('stopping a follower leaves the Lease alone', async () => {
    const store = createMemoryStore();
    const a = await candidate(store, 'replica-a');
    await until('a to lead', () => a.elector.isLeader());
    const b = await candidate(store, 'replica-b');
    await sleep(RETRY_MS * 2);
    const before = await lease(store);
    const writes = b.view.calls.update + b.view.calls.create;
    await b.elector.stop();
    assert.equal(b.view.calls.update + b.view.calls.create, writes);
    assert.equal((await lease(store)).spec?.holderIdentity, before.spec?.holderIdentity);
    assert.equal(a.elector.isLeader(), true);
  });

  for (const outage of ['fail', 'hang'] as const) {
    test(`a leader whose store ${outage === 'fail' ? 'fails' : 'hangs'} steps down after the renew deadline; the other takes over once the Lease expired`, async () => {
      const store = createMemoryStore();
      const a = await candidate(store, 'replica-a');
      await until('a to lead', () => a.elector.isLeader());
      const b = await candidate(store, 'replica-b');
      await sleep(RETRY_MS * 2);
      const m = monitor([a, b]);

      const lastRenew = Date.parse((await lease(store)).spec!.renewTime!);
      a.view.outage = outage;
      await until('a to step down', () => !a.elector.isLeader(), 5000);
      const steppedDownAfter = Date.now() - lastRenew;
      assert.deepEqual(a.events, ['started', 'stopped']);
      assert.ok(steppedDownAfter >= RENEW_DEADLINE_MS, `stepped down ${steppedDownAfter} ms after the last renewal`);
      assert.ok(steppedDownAfter < 1000, `stepped down before the Lease (1 s) expired: ${steppedDownAfter} ms`);

      await until('b to take over', () => b.elector.isLeader(), 5000);
      assert.ok(Date.now() - lastRenew >= 1000, 'not before the Lease expired');
      a.view.outage = undefined;
      await sleep(RETRY_MS * 3);
      assert.ok(m.stop() <= 1, 'never two leaders');
      assert.equal(a.elector.isLeader(), false, 'back in touch, a follows b');
      const l = await lease(store);
      assert.equal(l.spec?.holderIdentity, 'replica-b');
      assert.equal(l.spec?.leaseTransitions, 1);
    });
  }

  test('leaseTransitions counts every change of holder', async () => {
    const store = createMemoryStore();
    const a = await candidate(store, 'replica-a', 30);
    await until('a to lead', () => a.elector.isLeader());
    const b = await candidate(store, 'replica-b', 30);
    const c = await candidate(store, 'replica-c', 30);
    await sleep(RETRY_MS);
    assert.equal((await lease(store)).spec?.leaseTransitions, 0);

    const holders = ['replica-a'];
    const transitions = [0];
    let remaining = [a, b, c];
    for (let i = 0; i < 2; i++) {
      const current = remaining.find((x) => x.elector.isLeader())!;
      await current.elector.stop();
      remaining = remaining.filter((x) => x !== current);
      const next = await leaderAmong(remaining);
      const l = await lease(store);
      holders.push(l.spec!.holderIdentity!);
      transitions.push(l.spec!.leaseTransitions!);
      assert.equal(l.spec?.holderIdentity, next.identity);
    }
    assert.deepEqual(transitions, [0, 1, 2]);
    assert.equal(new Set(holders).size, 3);
  });

  test('stop() while the first acquisition is in flight leaves no leader and no held Lease', async () => {
    const store = createMemoryStore();
    const rep = await replica(store);
    rep.view.latencyMs = 50;
    const a = elect(rep, 'replica-a', 30);
    await sleep(10);
    await a.elector.stop();
    await sleep(150);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.events.filter((e) => e === 'started').length, a.events.filter((e) => e === 'stopped').length, `balanced callbacks: ${a.events.join(', ')}`);
    const l = await store.get<Lease>(`/registry/leases/${NAMESPACE}/${LEASE}`);
    assert.ok(!l?.value.spec?.holderIdentity || l.value.spec.holderIdentity !== 'replica-a', 'a stopped replica holds no Lease');
    // so another replica takes over at once, not after 30 s
    const b = await candidate(store, 'replica-b', 30);
    await until('b to lead', () => b.elector.isLeader(), 2000);
  });
});
