/**
 * Test helpers for the caches and controllers: a view of a real memory store that can be made to
 * fail or hang (an outage as one replica sees it) and whose watch can be held back (a lagging
 * replica), plus small timing helpers.
 */
import type { KubeObject } from '@boundtoken/api';
import { StoreError, type ListOptions, type ListResult, type Store, type StoreEvent, type Versioned, type Watch, type WatchOptions } from '@boundtoken/store';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Awaits `p` while keeping the event loop alive: the caches' own timers are unref'd, so a test that
 * only waits for one of them would otherwise end with "the event loop has already resolved".
 */
export async function alive<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 1000);
  try {
    return await p;
  } finally {
    clearInterval(hold);
  }
}

/** Polls `predicate` every 5 ms until it is truthy; fails after `timeoutMs`. */
export async function until(what: string, predicate: () => unknown, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** How this view answers: as the store does, with ERR_STORE_UNAVAILABLE, or never. */
export type Outage = 'fail' | 'hang' | undefined;

type Call = 'currentRevision' | 'get' | 'list' | 'create' | 'update' | 'delete' | 'compact';

/**
 * One process's view of a shared memory store. `outage` affects every read and write from this view
 * (not the store itself, nor other views); `holdWatch()` queues the watch's events and progress
 * until `releaseWatch()`. `calls` counts the calls that reached this view.
 */
export class StoreView implements Store {
  readonly backend: string;
  outage: Outage;
  /** Each read and write answers this much later (a slow link to the store). */
  latencyMs = 0;
  readonly calls: Record<Call, number> = { currentRevision: 0, get: 0, list: 0, create: 0, update: 0, delete: 0, compact: 0 };
  readonly #store: Store;
  #held: (() => void)[] | undefined;
  readonly #watches = new Set<{ fail: (err: StoreError) => void }>();

  constructor(store: Store, backend = store.backend) {
    this.#store = store;
    this.backend = backend;
  }

  #call<R>(name: Call, fn: () => Promise<R>): Promise<R> {
    this.calls[name]++;
    if (this.outage === 'hang') return new Promise<R>(() => undefined);
    if (this.outage === 'fail') return Promise.reject(new StoreError('ERR_STORE_UNAVAILABLE', `${name}: the store is unreachable from this view`));
    return this.latencyMs > 0 ? sleep(this.latencyMs).then(fn) : fn();
  }

  currentRevision(): Promise<number> {
    return this.#call('currentRevision', () => this.#store.currentRevision());
  }
  get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined> {
    return this.#call('get', () => this.#store.get<T>(key));
  }
  list<T extends KubeObject = KubeObject>(prefix: string, options?: ListOptions): Promise<ListResult<T>> {
    return this.#call('list', () => this.#store.list<T>(prefix, options));
  }
  create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>> {
    return this.#call('create', () => this.#store.create(key, value));
  }
  update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>> {
    return this.#call('update', () => this.#store.update(key, value, expectedRevision));
  }
  delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>> {
    return this.#call('delete', () => this.#store.delete<T>(key, expectedRevision));
  }
  compact(revision: number): Promise<void> {
    return this.#call('compact', () => this.#store.compact(revision));
  }
  compactedRevision(): Promise<number> {
    return this.#store.compactedRevision();
  }
  ping(): Promise<void> {
    return this.#store.ping();
  }
  async close(): Promise<void> {
    // the shared store is closed by its owner
  }

  /** Queues this view's watch deliveries from now on (in order) until `releaseWatch()`. */
  holdWatch(): void {
    this.#held ??= [];
  }

  releaseWatch(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const deliver of held) deliver();
  }

  /** Ends this view's live watches with `err`, as a lost connection would. */
  failWatches(err: StoreError): void {
    for (const w of [...this.#watches]) w.fail(err);
  }

  get liveWatches(): number {
    return this.#watches.size;
  }

  watch(prefix: string, o: WatchOptions): Watch {
    let stopped = false;
    const deliver = (fn: () => void): void => {
      const run = (): void => {
        if (!stopped) fn();
      };
      if (this.#held) this.#held.push(run);
      else run();
    };
    const entry = {
      fail: (err: StoreError): void => {
        this.#watches.delete(entry);
        inner.stop();
        // what was already delivered (or held) comes first; nothing after the error
        deliver(() => {
          stopped = true;
          o.onError(err);
        });
      },
    };
    const inner = this.#store.watch(prefix, {
      ...(o.afterRevision !== undefined ? { afterRevision: o.afterRevision } : {}),
      onEvent: (ev: StoreEvent) => deliver(() => o.onEvent(ev)),
      onError: (err) => {
        this.#watches.delete(entry);
        deliver(() => o.onError(err));
      },
      ...(o.onProgress ? { onProgress: (rev: number) => deliver(() => o.onProgress!(rev)) } : {}),
    });
    this.#watches.add(entry);
    return {
      stop: () => {
        stopped = true;
        this.#watches.delete(entry);
        inner.stop();
      },
    };
  }
}
