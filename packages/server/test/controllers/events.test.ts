/**
 * The controllers' event recorder (controllers/events.ts) writing core/v1 Events through a Registry
 * over a memory store, with a fake clock: a first occurrence creates an Event, a repeat of the
 * same (object, reason, message) within ten minutes bumps `count` and `lastTimestamp`.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, KubeObject } from '@boundtoken/api';
import { createMemoryStore } from '@boundtoken/store';
import { AdmissionChain } from '../../src/admission/types.js';
import { createEventRecorder, type EventRecorder } from '../../src/controllers/events.js';
import { controllerContext } from '../../src/controllers/context.js';
import { Registry } from '../../src/registry/registry.js';
import { coreResources } from '../../src/registry/resources/core.js';
import { sleep, StoreView, until } from '../cache/helpers.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');

const registries: Registry[] = [];
afterEach(() => {
  for (const r of registries.splice(0)) r.stop();
});

interface Setup {
  registry: Registry;
  view: StoreView;
  recorder: EventRecorder;
  clock: { t: number };
  errors: unknown[];
  events: (ns?: string) => Event[];
}

async function setup(): Promise<Setup> {
  const view = new StoreView(createMemoryStore());
  const registry = new Registry({ store: view, defs: coreResources, admission: new AdmissionChain([]) });
  await registry.start();
  registries.push(registry);
  const clock = { t: T0 };
  const errors: unknown[] = [];
  const recorder = createEventRecorder(registry, 'default-scheduler', (err) => errors.push(err), () => new Date(clock.t));
  const events = (ns?: string): Event[] => registry.cache<Event>('events').list(ns);
  return { registry, view, recorder, clock, errors, events };
}

function pod(name: string, uid = `uid-${name}`): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'work', name, uid, resourceVersion: '42' } };
}

const counts = (evs: Event[]): number => evs.reduce((n, e) => n + (e.count ?? 0), 0);

describe('event recorder', () => {
  test('the first occurrence creates an Event about the object', async () => {
    const s = await setup();
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes available to schedule pods');
    await until('the event', () => s.events('work').length === 1);
    const e = s.events('work')[0]!;
    assert.match(e.metadata!.name!, /^p1\.[0-9a-f]+$/);
    assert.equal(e.metadata!.namespace, 'work');
    assert.deepEqual(e.involvedObject, { kind: 'Pod', namespace: 'work', name: 'p1', uid: 'uid-p1', apiVersion: 'v1', resourceVersion: '42' });
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'FailedScheduling');
    assert.equal(e.message, 'no nodes available to schedule pods');
    assert.deepEqual(e.source, { component: 'default-scheduler' });
    assert.equal(e.reportingComponent, 'default-scheduler');
    assert.equal(e.count, 1);
    assert.equal(e.firstTimestamp, '2025-03-01T10:00:00Z');
    assert.equal(e.lastTimestamp, '2025-03-01T10:00:00Z');
    assert.deepEqual(s.errors, []);
  });

  test('a repeat bumps count and lastTimestamp of the same Event', async () => {
    const s = await setup();
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('the event', () => s.events('work').length === 1);
    const name = s.events('work')[0]!.metadata!.name;

    s.clock.t = T0 + 30_000;
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('count 2', () => s.events('work')[0]?.count === 2);
    s.clock.t = T0 + 90_000;
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('count 3', () => s.events('work')[0]?.count === 3);

    const evs = s.events('work');
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.metadata!.name, name);
    assert.equal(evs[0]!.firstTimestamp, '2025-03-01T10:00:00Z');
    assert.equal(evs[0]!.lastTimestamp, '2025-03-01T10:01:30Z');
  });

  test('another reason, message or object is another Event', async () => {
    const s = await setup();
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('1', () => s.events('work').length === 1);
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', '0/1 nodes are available');
    await until('2', () => s.events('work').length === 2);
    s.recorder.record(pod('p1'), 'Normal', 'Scheduled', 'no nodes');
    await until('3', () => s.events('work').length === 3);
    // same name, another uid: a new pod of that name
    s.recorder.record(pod('p1', 'uid-other'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('4', () => s.events('work').length === 4);
    assert.deepEqual(s.events('work').map((e) => e.count), [1, 1, 1, 1]);
  });

  test('many Events about one object at the same instant each get their own name', async () => {
    const s = await setup();
    // names were ms × 10^6 + a random part in a double, exact only to 256 ns: at one instant,
    // 300 names collided almost surely (AlreadyExists, the Event lost)
    for (let i = 0; i < 300; i++) s.recorder.record(pod('p1'), 'Warning', 'FailedMount', `attempt ${i}`);
    await until('300 events', () => s.events('work').length === 300 || s.errors.length > 0);
    assert.deepEqual(s.errors, []);
    assert.equal(new Set(s.events('work').map((e) => e.metadata!.name)).size, 300);
    for (const e of s.events('work')) assert.match(e.metadata!.name!, /^p1\.[0-9a-f]+$/);
  });

  test('a repeat after ten minutes, or after the Event was deleted, is a new Event', async () => {
    const s = await setup();
    s.recorder.record(pod('p1'), 'Normal', 'Scheduled', 'assigned');
    await until('1', () => s.events('work').length === 1);
    s.clock.t = T0 + 600_001;
    s.recorder.record(pod('p1'), 'Normal', 'Scheduled', 'assigned');
    await until('2', () => s.events('work').length === 2);
    assert.deepEqual(s.events('work').map((e) => e.count), [1, 1]);

    const def = s.registry.def('', 'events')!;
    for (const e of s.events('work')) await s.registry.delete(def, controllerContext('test'), 'work', e.metadata!.name!);
    await until('none', () => s.events('work').length === 0);
    s.recorder.record(pod('p1'), 'Normal', 'Scheduled', 'assigned');
    await until('a new one', () => s.events('work').length === 1);
    assert.equal(s.events('work')[0]!.count, 1);
  });

  test('repeats recorded back to back are one Event, counted', async () => {
    const s = await setup();
    for (let i = 0; i < 3; i++) s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('three occurrences', () => counts(s.events('work')) >= 3);
    await sleep(20);
    const evs = s.events('work');
    assert.equal(evs.length, 1, `one Event, not ${evs.length}`);
    assert.equal(evs[0]!.count, 3);
  });

  test('with the store hung, at most 1000 events wait; the rest are dropped and reported', async () => {
    const s = await setup();
    s.view.outage = 'hang';
    for (let i = 0; i < 1005; i++) s.recorder.record(pod(`p${i}`), 'Normal', 'Scheduled', 'assigned');
    assert.equal(s.errors.length, 5);
    assert.match(String(s.errors[0]), /1000 events are waiting to be written: dropped Scheduled for work\/p1000/);
  });

  test('events about cluster-scoped objects go to the default namespace', async () => {
    const s = await setup();
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } };
    s.recorder.record(node, 'Normal', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
    await until('the event', () => s.events('default').length === 1);
    const e = s.events('default')[0]!;
    assert.equal(e.involvedObject?.namespace, '');
    assert.equal(e.involvedObject?.kind, 'Node');
  });

  test('a store failure goes to onError and does not throw from record()', async () => {
    const s = await setup();
    s.view.outage = 'fail';
    assert.doesNotThrow(() => s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes'));
    await until('the error', () => s.errors.length === 1);
    assert.deepEqual(s.events(), []);
    s.view.outage = undefined;
    s.recorder.record(pod('p1'), 'Warning', 'FailedScheduling', 'no nodes');
    await until('the event', () => s.events('work').length === 1);
    assert.equal(s.events('work')[0]!.count, 1);
  });
});
