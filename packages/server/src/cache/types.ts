/**
 * The read side of the server's informer caches: every object of one resource, kept in memory
 * from a store list + watch, so the hot paths (authentication, authorization, TokenReview) never
 * read the database.
 */
import type { KubeObject } from '@boundtoken/api';

export interface CacheHandler<T extends KubeObject = KubeObject> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  delete?: (obj: T) => void;
}

/** A function that files an object under zero or more index values (for `byIndex`). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

export interface ObjectCache<T extends KubeObject = KubeObject> {
  /** `namespace` is '' for cluster-scoped resources. Objects are shared: never mutate them. */
  get(namespace: string, name: string): T | undefined;
  /** Every object, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects whose index function returned `value` for the named index. */
  byIndex(index: string, value: string): T[];
  /** The store revision the cache has caught up to. */
  readonly revision: number;
  /** Handlers run synchronously after the cache applied each change. Returns an unsubscribe. */
  subscribe(handler: CacheHandler<T>): () => void;
  /** Resolves once the initial list is in. */
  synced(): Promise<void>;
  /** Resolves when the cache has seen every change up to `revision` (for read-your-writes). */
  waitFor(revision: number, timeoutMs?: number): Promise<void>;
}
