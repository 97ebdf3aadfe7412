/**
 * The memory backend: the whole store in this process, for tests, demos and `boundtoken up`.
 *
 * State is a change log. Every write appends one record (one global revision counter); each key
 * keeps its records in revision order, so the latest one is the current state and older ones serve
 * reads at a past revision. Values are kept as JSON text, which makes stored state immutable and
 * every returned object a fresh copy. History is bounded: after watchers have been served, the
 * log is compacted to the last `retainRevisions` revisions.
 */
import type { KubeObject } from '@boundtoken/api';
import { StoreError } from '../store.js';
import type { ListOptions, ListResult, Store, Versioned, Watch, WatchOptions } from '../store.js';
import { decodeValue, encodeValue } from '../internal/codec.js';
import { prefixEnd } from '../internal/keys.js';
import { assertNotFuture, assertReadable, firstAfter, readRecords, type LogRecord } from '../internal/log.js';
import { closedWatch, storeClosed } from '../internal/closed.js';
import { LogWatchers } from '../internal/log-watchers.js';
import { SortedKeys } from '../internal/sorted-keys.js';
import {
  assertExpectedRevision,
  assertKey,
  assertListOptions,
  assertPrefix,
  assertRevision,
  assertValue,
} from '../internal/validate.js';

export interface MemoryStoreOptions {
  /**
   * How many revisions of history to keep for reads at a past revision and watches from one
   * (default 10000). Older history is compacted automatically — but not while a live watcher
   * still has to read it, up to ten times this window. 0 keeps everything (unbounded).
   */
  retainRevisions?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const retain = options.retainRevisions ?? 10_000;
  if (!Number.isSafeInteger(retain) || retain < 0) throw new TypeError('retainRevisions must be a non-negative integer');
  return new MemoryStore(retain);
}

class MemoryStore implements Store {
  readonly backend = 'memory';
  readonly #retain: number;
  #revision = 0;
  #compacted = 0;
  /** Records after `#compacted`, in revision order, from index `#logStart`. */
  #log: LogRecord[] = [];
  #logStart = 0;
  /** Per key, its retained records in revision order. */
  readonly #history = new Map<string, LogRecord[]>();
  /** Every key in `#history`, sorted. */
  readonly #keys = new SortedKeys();
  readonly #watchers: LogWatchers;
  #closed = false;

  constructor(retain: number) {
    this.#retain = retain;
    this.#watchers = new LogWatchers({
      revision: () => this.#revision,
      compacted: () => this.#compacted,
      read: (after, upTo, prefix, limit) => this.#readLog(after, upTo, prefix, limit),
    });
    this.#watchers.afterFlush = () => this.#autoCompact();
  }

  async currentRevision(): Promise<number> {
    this.#checkOpen();
    return this.#revision;
  }

  async get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined> {
    assertKey(key);
    this.#checkOpen();
    const records = this.#history.get(key);
    const last = records?.[records.length - 1];
    if (!last || last.type === 'DELETED') return undefined;
    return { key, value: decodeValue<T>(last.json), revision: last.revision };
  }

  async list<T extends KubeObject = KubeObject>(prefix: string, options: ListOptions = {}): Promise<ListResult<T>> {
    assertPrefix(prefix);
    assertListOptions(options);
    this.#checkOpen();
    const revision = options.revision ?? this.#revision;
    assertReadable(revision, this.#revision, this.#compacted);
    const limit = options.limit || Infinity;
    const end = prefixEnd(prefix);
    const items: Versioned<T>[] = [];
    const keys =
      options.startAfter !== undefined && options.startAfter >= prefix
        ? this.#keys.from(options.startAfter, true)
        : this.#keys.from(prefix);
    let more = false;
    let remaining = 0;
    for (const key of keys) {
      if (end !== undefined && key >= end) break;
      if (!key.startsWith(prefix)) continue;
      const record = this.#at(key, revision);
      if (!record || record.type === 'DELETED') continue;
      if (items.length < limit) items.push({ key, value: decodeValue<T>(record.json), revision: record.revision });
      else {
        more = true;
        remaining++;
      }
    }
    return more ? { items, revision, more, remaining } : { items, revision, more };
  }

  async create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    this.#checkOpen();
    const current = this.#current(key);
    if (current) throw new StoreError('ERR_STORE_EXISTS', `key ${key} already exists`, { key, revision: current.revision });
    const revision = this.#revision + 1;
    const json = encodeValue(value, revision);
    this.#append({ revision, key, type: 'ADDED', json });
    return { key, value: decodeValue<T>(json), revision };
  }

  async update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    assertExpectedRevision(expectedRevision);
    this.#checkOpen();
    const current = this.#precondition(key, expectedRevision);
    const revision = this.#revision + 1;
    const json = encodeValue(value, revision);
    this.#append({ revision, key, type: 'MODIFIED', json, prevJson: current.json });
    return { key, value: decodeValue<T>(json), revision };
  }

  async delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertExpectedRevision(expectedRevision);
    this.#checkOpen();
    const current = this.#precondition(key, expectedRevision);
    const revision = this.#revision + 1;
    const value = decodeValue<T>(current.json, revision);
    this.#append({ revision, key, type: 'DELETED', json: JSON.stringify(value), prevJson: current.json });
    return { key, value, revision };
  }

  watch(prefix: string, options: WatchOptions): Watch {
    assertPrefix(prefix);
    if (options.afterRevision !== undefined) assertRevision(options.afterRevision, 'afterRevision');
    if (this.#closed) return closedWatch(options);
    return this.#watchers.add(prefix, options);
  }

  async compact(revision: number): Promise<void> {
    assertRevision(revision, 'revision');
    this.#checkOpen();
    assertNotFuture(revision, this.#revision);
    // hand live watchers what they have not seen yet, so compaction only expires real laggards
    this.#watchers.flush();
    this.#compactTo(revision);
  }

  async compactedRevision(): Promise<number> {
    this.#checkOpen();
    return this.#compacted;
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreError('ERR_STORE_UNAVAILABLE', 'the store is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.failAll(storeClosed());
  }

  #checkOpen(): void {
    if (this.#closed) throw storeClosed();
  }

  /** The live record of `key`, if the key exists. */
  #current(key: string): LogRecord | undefined {
    const records = this.#history.get(key);
    const last = records?.[records.length - 1];
    return last && last.type !== 'DELETED' ? last : undefined;
  }

  /** The record of `key` that was current at `revision`. */
  #at(key: string, revision: number): LogRecord | undefined {
    const records = this.#history.get(key)!;
    const last = records[records.length - 1]!;
    if (last.revision <= revision) return last;
    const i = firstAfter(records, revision);
    return i > 0 ? records[i - 1] : undefined;
  }

  #precondition(key: string, expectedRevision: number | undefined): LogRecord {
    const current = this.#current(key);
    if (!current) throw new StoreError('ERR_STORE_NOT_FOUND', `key ${key} not found`, { key });
    if (expectedRevision !== undefined && current.revision !== expectedRevision) {
      throw new StoreError(
        'ERR_STORE_CONFLICT',
        `key ${key} is at revision ${current.revision}, not ${expectedRevision}`,
        { key, revision: current.revision },
      );
    }
    return current;
  }

  #append(record: LogRecord): void {
    this.#revision = record.revision;
    this.#log.push(record);
    let records = this.#history.get(record.key);
    if (!records) {
      records = [];
      this.#history.set(record.key, records);
      this.#keys.add(record.key);
    }
    records.push(record);
    this.#watchers.notify();
  }

  #readLog(after: number, upTo: number, prefix: string, limit: number): LogRecord[] {
    return readRecords(this.#log, after, upTo, prefix, limit, this.#logStart);
  }

  #autoCompact(): void {
    if (this.#retain === 0 || this.#closed) return;
    // history a live watcher still has to read stays (it only lags because catch-up is paced),
    // unless it falls more than ten windows behind: then it is too slow and must relist
    let target = this.#revision - this.#retain;
    const lowest = this.#watchers.lowestPosition();
    if (lowest !== undefined) target = Math.max(Math.min(target, lowest), this.#revision - 10 * this.#retain);
    // compact in steps of a tenth of the window, so the work is amortised over many writes
    if (target - this.#compacted >= Math.max(1, Math.ceil(this.#retain / 10))) this.#compactTo(target);
  }

  /**
   * Forgets history before `revision`: each key keeps its records after `revision` and the one
   * that was current at `revision` (unless that is a deletion).
   */
  #compactTo(revision: number): void {
    if (revision <= this.#compacted) return;
    const cut = firstAfter(this.#log, revision, this.#logStart);
    const touched = new Set<string>();
    for (let i = this.#logStart; i < cut; i++) touched.add(this.#log[i]!.key);
    for (const key of touched) {
      const records = this.#history.get(key)!;
      const i = firstAfter(records, revision);
      // records[0..i) are at or before `revision`; keep only the last of them, if it is live
      const keepFrom = i > 0 && records[i - 1]!.type !== 'DELETED' ? i - 1 : i;
      if (keepFrom === records.length) {
        this.#history.delete(key);
        this.#keys.delete(key);
      } else if (keepFrom > 0) {
        records.splice(0, keepFrom);
      }
    }
    this.#logStart = cut;
    if (this.#logStart > 1024 && this.#logStart * 2 > this.#log.length) {
      this.#log = this.#log.slice(this.#logStart);
      this.#logStart = 0;
    }
    this.#compacted = revision;
  }
}
