/**
 * A store-backed informer: lists a key prefix into memory, then follows the store's watch. It is
 * the server's watch cache — reads on the hot paths, client watches, controllers — so it also keeps
 * a window of recent events for watches that start from a recent resourceVersion.
 *
 * When the store reports that the watch fell behind compaction, the informer relists and tells
 * subscribers what changed in between (adds, updates and deletes), so caches never go stale.
 */
import type { KubeObject } from '@boundtoken/api';
import type { Store, StoreError, StoreEvent, Watch } from '@boundtoken/store';
import type { CacheHandler, IndexFunc, ObjectCache } from './types.js';

export interface CacheEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  /** The object before the change (MODIFIED, DELETED). */
  old?: T;
  revision: number;
}

export interface InformerOptions<T extends KubeObject> {
  store: Store;
  /** Store key prefix of the resource, ending with `/` (`/registry/pods/`). */
  prefix: string;
  /** Named index functions for `byIndex`. */
  indexers?: Record<string, IndexFunc<T>>;
  /** How many recent events to keep for watches from a recent resourceVersion (default 1000). */
  eventWindow?: number;
  /** Called when the store watch fails and the informer relists (for logs). */
  onRelist?: (err: StoreError) => void;
}

/** Listener of the raw change stream, for client watches. */
export type EventListener<T extends KubeObject = KubeObject> = (event: CacheEvent<T>) => void;

export interface Informer<T extends KubeObject = KubeObject> extends ObjectCache<T> {
  start(): Promise<void>;
  stop(): void;
  /**
   * Events after `revision` still in the window, or undefined when the window no longer reaches
   * back that far (the caller answers 410 Expired).
   */
  eventsSince(revision: number): CacheEvent<T>[] | undefined;
  /** Follows every change as it is applied. Returns an unsubscribe. */
  listen(listener: EventListener<T>): () => void;
}

function nsName(obj: KubeObject): [string, string] {
  return [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''];
}

function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function revisionOf(obj: KubeObject): number {
  return Number(obj.metadata?.resourceVersion ?? 0);
}

export function createInformer<T extends KubeObject = KubeObject>(options: InformerOptions<T>): Informer<T> {
  const { store, prefix } = options;
  const indexers = options.indexers ?? {};
  const windowSize = options.eventWindow ?? 1000;

  const items = new Map<string, T>();
  const byNamespace = new Map<string, Map<string, T>>();
  const indices = new Map<string, Map<string, Map<string, T>>>();
  for (const name of Object.keys(indexers)) indices.set(name, new Map());

  const handlers = new Set<CacheHandler<T>>();
  const listeners = new Set<EventListener<T>>();
  const window: CacheEvent<T>[] = [];
  /** Revision from which the window is complete: events after it are all in `window`. */
  let windowStart = 0;
  let revision = 0;
  let watch: Watch | undefined;
  let stopped = false;
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((resolve) => (resolveSynced = resolve));
  const waiters: { revision: number; resolve: () => void; timer?: NodeJS.Timeout }[] = [];

  function indexAdd(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(indexers)) {
      const index = indices.get(name)!;
      for (const value of fn(obj)) {
        let bucket = index.get(value);
        if (!bucket) index.set(value, (bucket = new Map()));
        bucket.set(key, obj);
      }
    }
  }

  function indexRemove(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(indexers)) {
      const index = indices.get(name)!;
      for (const value of fn(obj)) {
        const bucket = index.get(value);
        if (!bucket) continue;
        bucket.delete(key);
        if (bucket.size === 0) index.delete(value);
      }
    }
  }

  function put(obj: T): T | undefined {
    const [ns, name] = nsName(obj);
    const key = objectKey(ns, name);
    const old = items.get(key);
    if (old) indexRemove(key, old);
    items.set(key, obj);
    let nsMap = byNamespace.get(ns);
    if (!nsMap) byNamespace.set(ns, (nsMap = new Map()));
    nsMap.set(key, obj);
    indexAdd(key, obj);
    return old;
  }

  function remove(obj: T): T | undefined {
    const [ns, name] = nsName(obj);
    const key = objectKey(ns, name);
    const old = items.get(key);
    if (!old) return undefined;
    items.delete(key);
    const nsMap = byNamespace.get(ns);
    nsMap?.delete(key);
    if (nsMap && nsMap.size === 0) byNamespace.delete(ns);
    indexRemove(key, old);
    return old;
  }

  function advance(rev: number): void {
    if (rev <= revision) return;
    revision = rev;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.revision <= revision) {
        waiters.splice(i, 1);
        if (w.timer) clearTimeout(w.timer);
        w.resolve();
      }
    }
  }

  function emit(event: CacheEvent<T>): void {
    window.push(event);
    if (window.length > windowSize) {
      const dropped = window.shift()!;
      windowStart = dropped.revision;
    }
    for (const l of listeners) l(event);
    for (const h of handlers) {
      try {
        if (event.type === 'ADDED') h.add?.(event.object);
        else if (event.type === 'MODIFIED') h.update?.(event.object, event.old ?? event.object);
        else h.delete?.(event.object);
      } catch {
        // a handler's failure must not break the cache or other handlers
      }
    }
  }

  function apply(ev: StoreEvent): void {
    if (ev.revision <= revision) return;
    const obj = ev.value as T;
    if (ev.type === 'DELETED') {
      const old = remove(obj);
      advance(ev.revision);
      emit({ type: 'DELETED', object: obj, old: old ?? obj, revision: ev.revision });
    } else {
      const old = put(obj);
      advance(ev.revision);
      emit({ type: old ? 'MODIFIED' : 'ADDED', object: obj, ...(old ? { old } : {}), revision: ev.revision });
    }
  }

  async function listAll(): Promise<{ objects: T[]; revision: number }> {
    const objects: T[] = [];
    let startAfter: string | undefined;
    let rev: number | undefined;
    for (;;) {
      const page = await store.list<T>(prefix, {
        limit: 5000,
        ...(startAfter !== undefined ? { startAfter } : {}),
        ...(rev !== undefined ? { revision: rev } : {}),
      });
      rev = page.revision;
      for (const item of page.items) objects.push(item.value);
      if (!page.more || page.items.length === 0) break;
      startAfter = page.items[page.items.length - 1]!.key;
    }
    return { objects, revision: rev ?? 0 };
  }

  /** Replaces the contents with a fresh list, emitting the differences. */
  async function relist(): Promise<void> {
    const { objects, revision: listRev } = await listAll();
    if (stopped) return;
    const seen = new Set<string>();
    // the window cannot bridge a relist: watches from before it must restart
    window.length = 0;
    windowStart = listRev;
    for (const obj of objects) {
      const [ns, name] = nsName(obj);
      const key = objectKey(ns, name);
      seen.add(key);
      const existing = items.get(key);
      if (existing && revisionOf(existing) === revisionOf(obj)) continue;
      const old = put(obj);
      emit({ type: old ? 'MODIFIED' : 'ADDED', object: obj, ...(old ? { old } : {}), revision: revisionOf(obj) });
    }
    for (const [key, obj] of [...items]) {
      if (seen.has(key)) continue;
      remove(obj);
      emit({ type: 'DELETED', object: obj, old: obj, revision: listRev });
    }
    // revision may move backwards only if the store was replaced; keep the max
    revision = Math.max(revision, listRev);
    advance(listRev);
    startWatch(listRev);
  }

  let relistDelay = 100;
  function startWatch(fromRevision: number): void {
    if (stopped) return;
    watch = store.watch(prefix, {
      afterRevision: fromRevision,
      onEvent: (ev) => {
        relistDelay = 100;
        apply(ev);
      },
      onProgress: (rev) => advance(rev),
      onError: (err) => {
        watch = undefined;
        if (stopped) return;
        options.onRelist?.(err);
        const delay = err.code === 'ERR_STORE_COMPACTED' ? 0 : relistDelay;
        relistDelay = Math.min(relistDelay * 2, 10_000);
        setTimeout(() => {
          if (err.code === 'ERR_STORE_COMPACTED') {
            relist().catch(() => startWatchRetry());
          } else {
            // resume from where we were; if that is compacted meanwhile, the next error relists
            startWatch(revision);
          }
        }, delay).unref();
      },
    });
  }

  function startWatchRetry(): void {
    if (stopped) return;
    setTimeout(() => relist().catch(() => startWatchRetry()), relistDelay).unref();
    relistDelay = Math.min(relistDelay * 2, 10_000);
  }

  const informer: Informer<T> = {
    async start() {
      const { objects, revision: listRev } = await listAll();
      for (const obj of objects) put(obj);
      windowStart = listRev;
      advance(listRev);
      revision = Math.max(revision, listRev);
      startWatch(listRev);
      resolveSynced();
    },
    stop() {
      stopped = true;
      watch?.stop();
      watch = undefined;
      for (const w of waiters.splice(0)) {
        if (w.timer) clearTimeout(w.timer);
        w.resolve();
      }
    },
    get(namespace, name) {
      return items.get(objectKey(namespace, name));
    },
    list(namespace) {
      if (namespace === undefined) return [...items.values()];
      const nsMap = byNamespace.get(namespace);
      return nsMap ? [...nsMap.values()] : [];
    },
    byIndex(index, value) {
      const idx = indices.get(index);
      if (!idx) throw new TypeError(`no index named ${index}`);
      const bucket = idx.get(value);
      return bucket ? [...bucket.values()] : [];
    },
    get revision() {
      return revision;
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    synced() {
      return syncedPromise;
    },
    waitFor(rev, timeoutMs = 5000) {
      if (rev <= revision) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter: { revision: number; resolve: () => void; timer?: NodeJS.Timeout } = { revision: rev, resolve };
        waiter.timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`cache of ${prefix} did not reach revision ${rev} within ${timeoutMs} ms (at ${revision})`));
        }, timeoutMs);
        waiter.timer.unref();
        waiters.push(waiter);
      });
    },
    eventsSince(rev) {
      if (rev < windowStart) return undefined;
      // window is in revision order
      let lo = 0;
      let hi = window.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (window[mid]!.revision <= rev) lo = mid + 1;
        else hi = mid;
      }
      return window.slice(lo);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return informer;
}
