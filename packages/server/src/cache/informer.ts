/**
 * An informer cache of one resource: every object under a store key prefix, kept in memory, with
 * indices, change handlers, and a window of recent events for watches that start from a recent
 * resourceVersion. It is the server's watch cache — reads on the hot paths, client watches,
 * controllers.
 *
 * The cache does not talk to the store itself: a `CacheGroup` (shared-watch.ts) lists every
 * resource at one revision and feeds all caches from a single store watch, so that every cache
 * advances with every change anywhere — which is what lets a consistent read wait for "the caches
 * have seen revision N" even for a resource nobody writes (consistent-read.ts).
 */
import type { KubeObject } from '@boundtoken/api';
import type { StoreEvent } from '@boundtoken/store';
import type { CacheHandler, IndexFunc, ObjectCache } from './types.js';

export interface CacheEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  /** The object before the change (MODIFIED, DELETED). */
  old?: T;
  revision: number;
}

export interface InformerOptions<T extends KubeObject> {
  /** Store key prefix of the resource, ending with `/` (`/registry/pods/`). */
  prefix: string;
  /** Named index functions for `byIndex`. */
  indexers?: Record<string, IndexFunc<T>>;
  /** How many recent events to keep for watches from a recent resourceVersion (default 1000). */
  eventWindow?: number;
}

/** Listener of the raw change stream, for client watches. */
export type EventListener<T extends KubeObject = KubeObject> = (event: CacheEvent<T>) => void;

export interface Informer<T extends KubeObject = KubeObject> extends ObjectCache<T> {
  readonly prefix: string;
  /**
   * Events after `revision` still in the window, or undefined when the window no longer reaches
   * back that far (the caller answers 410 Expired).
   */
  eventsSince(revision: number): CacheEvent<T>[] | undefined;
  /** Follows every change as it is applied. Returns an unsubscribe. */
  listen(listener: EventListener<T>): () => void;
}

/** The feeding side of an informer (for its CacheGroup). */
export interface InformerFeed<T extends KubeObject = KubeObject> {
  /**
   * The complete contents as of `revision` (the first list, or a relist after the watch fell
   * behind compaction). A relist tells handlers and listeners what changed in between and
   * restarts the event window.
   */
  load(objects: T[], revision: number): void;
  /** One change from the store watch (changes at or before the cache's revision are ignored). */
  apply(event: StoreEvent): void;
  /** Every change up to `revision` has been applied (another resource's change, or store progress). */
  progress(revision: number): void;
  /** Releases waiters. */
  stop(): void;
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

export function createInformer<T extends KubeObject = KubeObject>(options: InformerOptions<T>): Informer<T> & InformerFeed<T> {
  const { prefix } = options;
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
  let loaded = false;
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
      // a relist's events carry their objects' older revisions: the window still starts at the list
      windowStart = Math.max(windowStart, dropped.revision);
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

  const informer: Informer<T> & InformerFeed<T> = {
    prefix,
    load(objects, listRev) {
      if (!loaded) {
        for (const obj of objects) put(obj);
        windowStart = listRev;
        loaded = true;
        advance(listRev);
        resolveSynced();
        return;
      }
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
      // the window restarts at the list: it stays complete even if the revision moved backwards
      // (a replaced store); the cache's revision only grows
      advance(listRev);
    },
    apply(ev) {
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
    },
    progress(rev) {
      advance(rev);
    },
    stop() {
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
