/**
 * An in-memory ObjectCache test double: the read side the authorizers consume, plus `put`/`remove`
 * to drive changes through subscribers exactly as an informer would.
 */
import type { KubeObject } from '@boundtoken/api';
import type { CacheHandler, ObjectCache } from '../../src/cache/types.js';

export interface MemoryCache<T extends KubeObject = KubeObject> extends ObjectCache<T> {
  /** Adds or replaces (by namespace/name), notifying subscribers. */
  put(obj: T): void;
  remove(namespace: string, name: string): void;
  /** Live subscriptions (to check that authorizers unsubscribe). */
  readonly subscribers: number;
}

export function memoryCache<T extends KubeObject = KubeObject>(initial: readonly T[] = []): MemoryCache<T> {
  const items = new Map<string, T>();
  const handlers = new Set<CacheHandler<T>>();
  let revision = 0;
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const keyOf = (o: T): string => key(o.metadata?.namespace ?? '', o.metadata?.name ?? '');
  for (const o of initial) items.set(keyOf(o), o);

  return {
    get: (ns, name) => items.get(key(ns, name)),
    list: (ns) => [...items.values()].filter((o) => ns === undefined || (o.metadata?.namespace ?? '') === ns),
    byIndex: () => [],
    get revision() {
      return revision;
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    synced: async () => {},
    waitFor: async () => {},
    put(obj) {
      revision++;
      const old = items.get(keyOf(obj));
      items.set(keyOf(obj), obj);
      for (const h of handlers) {
        if (old) h.update?.(obj, old);
        else h.add?.(obj);
      }
    },
    remove(ns, name) {
      const old = items.get(key(ns, name));
      if (!old) return;
      revision++;
      items.delete(key(ns, name));
      for (const h of handlers) h.delete?.(old);
    },
    get subscribers() {
      return handlers.size;
    },
  };
}
