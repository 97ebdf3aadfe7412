/**
 * The storage contract every backend (memory, SQLite, etcd) implements and the conformance
 * suite checks. Keys are opaque strings (`/registry/<resource>/<namespace>/<name>`); values are
 * JSON objects. Every write gets a new, strictly increasing store-wide revision — the object's
 * `resourceVersion` (etcd's mod_revision; SQLite and memory keep one global counter).
 *
 * Objects returned by a store are fresh copies that the caller owns, with
 * `metadata.resourceVersion` set to the revision of that version of the object. Objects given to
 * a store are copied or serialised before the call returns; any `metadata.resourceVersion` in them
 * is ignored (the store assigns it).
 */
import type { KubeObject } from '@boundtoken/api';

/** One version of one key. */
export interface Versioned<T extends KubeObject = KubeObject> {
  key: string;
  value: T;
  /** The revision at which this version was written (for a deletion: the deletion's revision). */
  revision: number;
}

export interface ListOptions {
  /** At most this many items (0 or undefined: all). */
  limit?: number;
  /** Only keys strictly greater than this one (the position a continue token carries). */
  startAfter?: string;
  /**
   * Read the state as of this revision (a consistent snapshot for paging). Undefined: the latest.
   * A revision that has been compacted away fails with `ERR_STORE_COMPACTED`; one in the
   * future fails with `ERR_STORE_FUTURE_REVISION`.
   */
  revision?: number;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: Versioned<T>[];
  /** The revision the list was read at (the store's revision when `revision` was not given). */
  revision: number;
  /** More keys follow the last item (only when `limit` cut the result). */
  more: boolean;
  /** Keys that would follow, when `more` is set (may be an estimate). */
  remaining?: number;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent<T extends KubeObject = KubeObject> {
  type: StoreEventType;
  key: string;
  /** The new value; for DELETED, the last value before deletion. */
  value: T;
  /** The revision of this change. For DELETED, `value.metadata.resourceVersion` is this revision. */
  revision: number;
  /** The previous value, for MODIFIED and DELETED where the backend knows it. */
  prevValue?: T;
}

export interface WatchOptions {
  /**
   * Deliver the changes made after this revision (exclusive), in revision order, then follow live
   * changes. Undefined: only changes after the watch starts (etcd: after the newest revision this
   * client has seen). A revision older than `compactedRevision()` fails the watch through `onError`
   * with `ERR_STORE_COMPACTED`; a revision in the future is allowed (changes after it are delivered).
   */
  afterRevision?: number;
  /** Called for each change under the prefix. Must not throw. */
  onEvent: (event: StoreEvent) => void;
  /**
   * Called once when the watch ends because of an error (compaction, backend loss, store closed);
   * no events follow. Not called after `stop()`.
   */
  onError: (err: StoreError) => void;
  /**
   * Optional: called with the store's revision when the backend knows that every change up to
   * it has been delivered (etcd progress notifications, or the memory/SQLite log). Informers use it
   * for bookmarks and for consistent reads from cache. Never ahead of an undelivered event, never
   * decreasing. Memory/SQLite call it once the watch has caught up and whenever writes outside the
   * prefix move the revision; etcd when the watch starts with nothing to catch up and on etcd's
   * periodic progress notifications (`--experimental-watch-progress-notify-interval`, default 10m).
   */
  onProgress?: (revision: number) => void;
}

export interface Watch {
  stop(): void;
}

export interface Store {
  /** The backend's name, for logs and `/readyz` (`memory`, `sqlite`, `etcd`). */
  readonly backend: string;
  /** The latest revision of the whole store (0 for an empty store). */
  currentRevision(): Promise<number>;
  get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined>;
  /** Keys starting with `prefix`, in key order. */
  list<T extends KubeObject = KubeObject>(prefix: string, options?: ListOptions): Promise<ListResult<T>>;
  /** Fails with `ERR_STORE_EXISTS` when the key exists. */
  create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>>;
  /**
   * Replaces an existing key. With `expectedRevision`, fails with `ERR_STORE_CONFLICT` unless the
   * current version has that revision. Fails with `ERR_STORE_NOT_FOUND` when the key is absent.
   */
  update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>>;
  /**
   * Removes a key and returns its last value, stamped with the deletion's revision. With
   * `expectedRevision`, fails with `ERR_STORE_CONFLICT` unless the current version has it.
   */
  delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>>;
  /** Follows changes under `prefix`. */
  watch(prefix: string, options: WatchOptions): Watch;
  /**
   * Forgets the history before `revision`. Afterwards the state as of `revision` and every change
   * after it stay readable (`list` at a revision >= it, `watch` with `afterRevision` >= it); older
   * reads fail with `ERR_STORE_COMPACTED` (the API's 410 Expired). This is etcd's meaning of
   * compaction. Compacting to an already compacted revision is a no-op; to a future one fails with
   * `ERR_STORE_FUTURE_REVISION`. Backends also compact on their own (see docs/storage.md).
   */
  compact(revision: number): Promise<void>;
  /** The oldest revision still readable (history before it is compacted); 0 when never compacted. */
  compactedRevision(): Promise<number>;
  /** Resolves when the backend answers (for `/readyz`); rejects with `ERR_STORE_UNAVAILABLE`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode =
  | 'ERR_STORE_NOT_FOUND'
  | 'ERR_STORE_EXISTS'
  | 'ERR_STORE_CONFLICT'
  | 'ERR_STORE_COMPACTED'
  | 'ERR_STORE_FUTURE_REVISION'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_TIMEOUT'
  | 'ERR_STORE_CLOSED';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly key: string | undefined;
  /** For conflicts: the current revision of the key; for compaction: the compacted revision. */
  readonly revision: number | undefined;

  constructor(code: StoreErrorCode, message: string, opts: { key?: string; revision?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreError';
    this.code = code;
    this.key = opts.key;
    this.revision = opts.revision;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
