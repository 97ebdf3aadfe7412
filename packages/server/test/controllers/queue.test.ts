/**
 * The controllers' work queue (controllers/queue.ts): dedupe while waiting, one key never processed
 * twice at once, a key added while running runs again afterwards, retries with exponential backoff
 * (mocked timers), idle().
 */
import { afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/controllers/queue.js';

/** Lets the queue's promise chains run (not mocked by mock.timers, which only takes setTimeout). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A reconcile whose calls the test finishes one by one. */
function controlled() {
  const calls: string[] = [];
  const running = new Map<string, { resolve: () => void; reject: (err: Error) => void }[]>();
  let current = 0;
  let peak = 0;
  const perKeyPeak = new Map<string, number>();
  const reconcile = (key: string): Promise<void> => {
    calls.push(key);
    current++;
    peak = Math.max(peak, current);
    const list = running.get(key) ?? [];
    running.set(key, list);
    perKeyPeak.set(key, Math.max(perKeyPeak.get(key) ?? 0, list.length + 1));
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        current--;
        list.splice(list.indexOf(entry), 1);
      };
      const entry = {
        resolve: () => (done(), resolve()),
        reject: (err: Error) => (done(), reject(err)),
      };
      list.push(entry);
    });
  };
  return {
    reconcile,
    calls,
    get peak() {
      return peak;
    },
    perKeyPeak,
    isRunning: (key: string) => (running.get(key)?.length ?? 0) > 0,
    async finish(key: string, err?: Error): Promise<void> {
      const entry = running.get(key)?.[0];
      if (!entry) throw new Error(`${key} is not running`);
      if (err) entry.reject(err);
      else entry.resolve();
      await settle();
    },
  };
}

afterEach(() => mock.timers.reset());

describe('WorkQueue', () => {
  test('processes added keys in order, one at a time by default', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile);
    q.add('a');
    q.add('b');
    q.add('c');
    assert.deepEqual(r.calls, ['a']);
    await r.finish('a');
    assert.deepEqual(r.calls, ['a', 'b']);
    await r.finish('b');
    await r.finish('c');
    assert.deepEqual(r.calls, ['a', 'b', 'c']);
    assert.equal(r.peak, 1);
  });

  test('a key added again while it waits is processed once', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile);
    q.add('busy');
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    await r.finish('busy');
    await r.finish('a');
    await r.finish('b');
    await q.idle();
    assert.deepEqual(r.calls, ['busy', 'a', 'b']);
  });

  test('a key is never processed twice at once; added while running, it runs once more afterwards', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile, { concurrency: 4 });
    q.add('a');
    q.add('b');
    assert.deepEqual(r.calls, ['a', 'b']);
    q.add('a');
    q.add('a');
    assert.deepEqual(r.calls, ['a', 'b'], 'a is running: the adds wait for it');
    await r.finish('a');
    assert.deepEqual(r.calls, ['a', 'b', 'a'], 'then it runs again, once');
    await r.finish('a');
    await r.finish('b');
    await q.idle();
    assert.deepEqual(r.calls, ['a', 'b', 'a']);
    assert.equal(r.perKeyPeak.get('a'), 1);
  });

  test('at most `concurrency` keys run at once', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile, { concurrency: 2 });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    assert.deepEqual(r.calls, ['a', 'b']);
    await r.finish('b');
    assert.deepEqual(r.calls, ['a', 'b', 'c']);
    await r.finish('a');
    await r.finish('c');
    await r.finish('d');
    assert.equal(r.peak, 2);
  });

  test('a failure is retried with exponential backoff, reset by a success', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const r = controlled();
    const errors: string[] = [];
    const q = new WorkQueue(r.reconcile, { onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`) });
    q.add('a');
    const retryAfter = async (ms: number): Promise<void> => {
      const before = r.calls.length;
      mock.timers.tick(ms - 1);
      await settle();
      assert.equal(r.calls.length, before, `not retried before ${ms} ms`);
      mock.timers.tick(1);
      await settle();
      assert.equal(r.calls.length, before + 1, `retried after ${ms} ms`);
    };

    await r.finish('a', new Error('one'));
    await retryAfter(10);
    await r.finish('a', new Error('two'));
    await retryAfter(20);
    await r.finish('a', new Error('three'));
    await retryAfter(40);
    await r.finish('a');
    assert.deepEqual(errors, ['a: one', 'a: two', 'a: three']);
    // a success forgets the failures: the next failure starts over
    q.add('a');
    await r.finish('a', new Error('four'));
    await retryAfter(10);
    await r.finish('a');
    mock.timers.tick(10_000);
    await settle();
    assert.equal(r.calls.length, 6);
  });

  test('the backoff stops growing at maxBackoffMs', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const calls: number[] = [];
    const q = new WorkQueue(
      async () => {
        calls.push(Date.now());
        throw new Error('always');
      },
      { maxBackoffMs: 25 },
    );
    q.add('a');
    await settle();
    const delays = [10, 20, 25, 25];
    for (const ms of delays) {
      mock.timers.tick(ms);
      await settle();
    }
    assert.equal(calls.length, 1 + delays.length);
    q.stop();
  });

  test('a reconcile that fails after stop() (the store closed under it) is neither reported nor retried', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const r = controlled();
    const errors: string[] = [];
    const q = new WorkQueue(r.reconcile, { onError: (key) => errors.push(key) });
    q.add('a');
    q.stop();
    await r.finish('a', new Error('the store is closed'));
    mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(errors, []);
    assert.deepEqual(r.calls, ['a']);
    await q.idle();
  });

  test('failures of one key do not hold up others', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const r = controlled();
    const q = new WorkQueue(r.reconcile);
    q.add('bad');
    q.add('good');
    await r.finish('bad', new Error('no'));
    assert.deepEqual(r.calls, ['bad', 'good']);
    await r.finish('good');
    mock.timers.tick(10);
    await settle();
    assert.deepEqual(r.calls, ['bad', 'good', 'bad']);
    await r.finish('bad');
  });

  test('idle() resolves once nothing waits or runs, including keys re-added while running', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile, { concurrency: 2 });
    await q.idle();
    q.add('a');
    q.add('b');
    let idle = false;
    const done = q.idle().then(() => (idle = true));
    q.add('a');
    await r.finish('a');
    await r.finish('b');
    assert.equal(idle, false, 'a was added again while running');
    await r.finish('a');
    await done;
    assert.deepEqual(r.calls, ['a', 'b', 'a']);
  });

  test('idle() does not wait for a key whose retry is scheduled (it is neither waiting nor running)', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const r = controlled();
    const q = new WorkQueue(r.reconcile);
    q.add('a');
    await r.finish('a', new Error('later'));
    await q.idle();
    mock.timers.tick(10);
    assert.deepEqual(r.calls, ['a', 'a']);
    await r.finish('a');
  });

  test('after stop() nothing new is processed', async () => {
    const r = controlled();
    const q = new WorkQueue(r.reconcile);
    q.add('a');
    q.stop();
    q.add('b');
    await r.finish('a');
    assert.deepEqual(r.calls, ['a']);
  });

  test('a reconcile that throws synchronously is a failure like any other', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const seen: string[] = [];
    let n = 0;
    const q = new WorkQueue(
      (key) => {
        seen.push(key);
        if (n++ === 0) throw new Error('sync');
        return Promise.resolve();
      },
      { onError: (key) => seen.push(`error ${key}`) },
    );
    q.add('a');
    await settle();
    mock.timers.tick(10);
    await settle();
    await q.idle();
    assert.deepEqual(seen, ['a', 'error a', 'a']);
  });
});
