/**
 * Watches over a change log that the store itself keeps (memory and SQLite). Every watcher is a
 * position in the log — the last revision it has seen — and reads forward from there: replay
 * from an old revision and following live writes are the same loop, so events come in revision
 * order, exactly once, without gaps. A watcher whose position falls behind the compacted revision
 * fails with ERR_STORE_COMPACTED, and its consumer relists.
 *
 * Delivery is asynchronous (never inside `watch()` or a write), batched per event-loop turn.
 * Catch-up from far back reads `chunk` records per turn so one watcher cannot stall the process.
 */
import { StoreError } from '../store.js';
import type { Watch, WatchOptions } from '../store.js';
import type { LogRecord } from './log.js';
import { toEvent } from './log.js';

export interface LogSource {
  /** The newest revision readers can see (committed). */
  revision(): number;
  /** Oldest revision from which changes can still be read (watch positions must be >= it). */
  compacted(): number;
  /**
   * Up to `limit` records with `after < revision <= upTo` and a key starting with `prefix`,
   * in revision order. Only called with `after >= compacted()`.
   */
  read(after: number, upTo: number, prefix: string, limit: number): LogRecord[];
}

export interface LogWatchersOptions {
  /** Records read per watcher per event-loop turn while catching up (default 1000). */
  chunk?: number;
}

interface Watcher {
  prefix: string;
  /** Every change up to this revision has been delivered. */
  position: number;
  /** Last revision reported through onProgress. */
  progressed: number;
  options: WatchOptions;
  done: boolean;
}

export class LogWatchers {
  readonly #source: LogSource;
  readonly #chunk: number;
  readonly #watchers = new Set<Watcher>();
  #scheduled: NodeJS.Immediate | undefined;
  #flushing = false;
  /** Hooks run after each flush (the memory store compacts there, once watchers are caught up). */
  afterFlush: (() => void) | undefined;

  constructor(source: LogSource, options: LogWatchersOptions = {}) {
    this.#source = source;
    this.#chunk = options.chunk ?? 1000;
  }

  get size(): number {
    return this.#watchers.size;
  }

  add(prefix: string, options: WatchOptions): Watch {
    const start = options.afterRevision ?? this.#source.revision();
    const watcher: Watcher = { prefix, position: start, progressed: -1, options, done: false };
    this.#watchers.add(watcher);
    this.notify();
    return {
      stop: () => {
        watcher.done = true;
        this.#watchers.delete(watcher);
      },
    };
  }

  /** New records are readable: deliver them on the next turn. */
  notify(): void {
    if (this.#scheduled !== undefined) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.flush();
    });
  }

  /** Delivers everything readable to every watcher (catch-ups advance one chunk). */
  flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    let more = false;
    try {
      for (const w of [...this.#watchers]) {
        if (w.done) continue;
        try {
          if (this.#advance(w)) more = true;
        } catch (err) {
          // a consumer's callback threw (they must not): end that watch, keep the others going,
          // and surface the bug like an EventEmitter listener would
          w.done = true;
          this.#watchers.delete(w);
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    } finally {
      this.#flushing = false;
    }
    if (more) this.notify();
    this.afterFlush?.();
  }

  /** Ends every watch with `err` (the store closed or failed). */
  failAll(err: StoreError): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const w of watchers) this.#fail(w, err);
  }

  /** The lowest position of a live watcher (undefined when none). */
  lowestPosition(): number | undefined {
    let low: number | undefined;
    for (const w of this.#watchers) if (!w.done && (low === undefined || w.position < low)) low = w.position;
    return low;
  }

  /** Returns true when the watcher has more to read (a catch-up chunk was full). */
  #advance(w: Watcher): boolean {
    const upTo = this.#source.revision();
    if (w.position < upTo) {
      const compacted = this.#source.compacted();
      if (w.position < compacted) {
        this.#watchers.delete(w);
        this.#fail(
          w,
          new StoreError('ERR_STORE_COMPACTED', `watch position ${w.position} is older than the compacted revision ${compacted}`, {
            revision: compacted,
          }),
        );
        return false;
      }
      let records: LogRecord[];
      try {
        records = this.#source.read(w.position, upTo, w.prefix, this.#chunk);
      } catch (err) {
        this.#watchers.delete(w);
        this.#fail(w, err instanceof StoreError ? err : new StoreError('ERR_STORE_UNAVAILABLE', 'reading the change log failed', { cause: err }));
        return false;
      }
      for (const record of records) {
        if (w.done) return false;
        w.position = record.revision;
        w.options.onEvent(toEvent(record));
      }
      if (w.done) return false;
      if (records.length === this.#chunk) return true;
      w.position = upTo;
      // events already told the consumer how far it is; progress is for quiet stretches
      if (records.length > 0 && records[records.length - 1]!.revision === upTo && w.progressed >= 0) {
        w.progressed = upTo;
        return false;
      }
    }
    if (w.options.onProgress && w.position > w.progressed && w.position <= upTo) {
      w.progressed = w.position;
      w.options.onProgress(w.position);
    }
    return false;
  }

  #fail(w: Watcher, err: StoreError): void {
    if (w.done) return;
    w.done = true;
    w.options.onError(err);
  }
}
