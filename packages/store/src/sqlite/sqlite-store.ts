/**
 * The SQLite backend (better-sqlite3, WAL): the embedded default, for one server process.
 *
 * Writes go through one connection. The first write of an event-loop turn opens a transaction
 * (`BEGIN IMMEDIATE`); every write of that turn runs inside it (each in its own savepoint, so a
 * failed write leaves the others intact), and the transaction commits on the next turn — group
 * commit: with `synchronous = FULL` one fsync covers the whole batch. A write's promise resolves
 * only after its batch has committed, so every acknowledged write is on disk (FULL) or at least in
 * the WAL in the OS page cache (NORMAL: survives the process being killed, not a power cut).
 *
 * Reads go through a second connection and so see committed data only. Watches are served from
 * the writes this process commits (a window of recent records kept in memory) and, for catch-up
 * from further back, from the `log` table.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { KubeObject } from '@boundtoken/api';
import { StoreError } from '../store.js';
import type { ListOptions, ListResult, Store, Versioned, Watch, WatchOptions } from '../store.js';
import { decodeValue, encodeValue, restamp } from '../internal/codec.js';
import { prefixEnd } from '../internal/keys.js';
import { assertNotFuture, assertReadable, readRecords, type LogRecord } from '../internal/log.js';
import { closedWatch, storeClosed } from '../internal/closed.js';
import { LogWatchers } from '../internal/log-watchers.js';
import {
  assertExpectedRevision,
  assertKey,
  assertListOptions,
  assertPrefix,
  assertRevision,
  assertValue,
} from '../internal/validate.js';
import { checkSchema, migrate } from './schema.js';

export interface SqliteStoreOptions {
  /** The database file (created with mode 0600 when missing; `-wal` and `-shm` files sit next to it). */
  path: string;
  /**
   * `full` (default): each commit is fsynced — acknowledged writes survive a power cut.
   * `normal`: the WAL is fsynced at checkpoints only — acknowledged writes survive the process
   * being killed, the last ones may be lost on a power cut or kernel crash.
   */
  synchronous?: 'full' | 'normal';
  /**
   * Automatic compaction: every interval, history older than the revision of the previous
   * interval is compacted (so between one and two intervals of history stay readable).
   * Default 300000 (5 minutes, as kube-apiserver); 0 disables it.
   */
  compactionIntervalMs?: number;
  /** Recent records kept in memory for watchers (default 10000); older catch-up reads the table. */
  watchCacheSize?: number;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('openSqliteStore needs options');
  const { path, synchronous = 'full', compactionIntervalMs = 300_000, watchCacheSize = 10_000 } = options;
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('SQLite store path must be a non-empty string');
  if (path === ':memory:' || path.startsWith('file:')) throw new TypeError('SQLite store path must be a file path (use createMemoryStore for memory)');
  if (synchronous !== 'full' && synchronous !== 'normal') throw new TypeError(`synchronous must be 'full' or 'normal'`);
  if (!Number.isSafeInteger(compactionIntervalMs) || compactionIntervalMs < 0) {
    throw new TypeError('compactionIntervalMs must be a non-negative integer');
  }
  if (!Number.isSafeInteger(watchCacheSize) || watchCacheSize < 1) throw new TypeError('watchCacheSize must be a positive integer');

  let writer: Db | undefined;
  let reader: Db | undefined;
  try {
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    writer = new Database(path, { timeout: 1000 });
    checkSchema(writer);
    const mode = writer.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`cannot use WAL mode (journal_mode is ${String(mode)})`);
    writer.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    migrate(writer);
    reader = new Database(path, { timeout: 1000, fileMustExist: true });
    reader.pragma('query_only = ON');
  } catch (err) {
    reader?.close();
    writer?.close();
    throw new StoreError('ERR_STORE_UNAVAILABLE', `cannot open the SQLite store at ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new SqliteStore(writer, reader, { synchronous, compactionIntervalMs, watchCacheSize });
}

interface Row {
  key: string;
  revision: number;
  value: string;
}

interface LogRow {
  revision: number;
  key: string;
  created: number;
  deleted: number;
  value: string;
  prev: string | null;
}

interface Waiter {
  resolve: (v: Versioned) => void;
  reject: (err: unknown) => void;
  result: Versioned;
}

interface Batch {
  /** The last revision assigned in this batch. */
  revision: number;
  records: LogRecord[];
  waiters: Waiter[];
  timer: NodeJS.Immediate;
}

/** SQLite's own errors (disk full, I/O) become ERR_STORE_UNAVAILABLE; ours and TypeErrors pass. */
function storeFailure(err: unknown, what: string): unknown {
  if (err instanceof StoreError || err instanceof TypeError) return err;
  return new StoreError('ERR_STORE_UNAVAILABLE', `${what}: ${(err as Error).message}`, { cause: err });
}

class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly synchronous: 'full' | 'normal';
  readonly #db: Db;
  readonly #reader: Db;
  readonly #watchCacheSize: number;
  readonly #watchers: LogWatchers;
  readonly #stmt: ReturnType<typeof prepareWriter>;
  readonly #read: ReturnType<typeof prepareReader>;
  readonly #listStatements = new Map<string, Statement>();
  /** Runs one write inside the open batch transaction, in a savepoint. */
  readonly #savepoint: (apply: (revision: number) => LogRecord, revision: number) => LogRecord;
  #committed: number;
  #compacted: number;
  #swept: number;
  #batch: Batch | undefined;
  /** Committed records, contiguous up to `#committed`, for watchers. */
  #recent: LogRecord[] = [];
  #compaction: Promise<void> = Promise.resolve();
  #compactionTimer: NodeJS.Timeout | undefined;
  #lastTickRevision: number;
  #closed = false;

  constructor(
    db: Db,
    reader: Db,
    options: { synchronous: 'full' | 'normal'; compactionIntervalMs: number; watchCacheSize: number },
  ) {
    this.#db = db;
    this.#reader = reader;
    this.synchronous = options.synchronous;
    this.#watchCacheSize = options.watchCacheSize;
    this.#stmt = prepareWriter(db);
    this.#read = prepareReader(reader);
    this.#savepoint = db.transaction((apply: (revision: number) => LogRecord, revision: number) => apply(revision));
    this.#committed = this.#stmt.meta.get('revision') as number;
    this.#compacted = this.#stmt.meta.get('compacted') as number;
    this.#swept = this.#stmt.meta.get('swept') as number;
    this.#lastTickRevision = this.#committed;
    this.#watchers = new LogWatchers({
      revision: () => this.#committed,
      compacted: () => this.#compacted,
      read: (after, upTo, prefix, limit) => this.#readLog(after, upTo, prefix, limit),
    });
    // a compaction interrupted by a crash finishes now
    if (this.#swept < this.#compacted) this.#compaction = this.#sweep().catch(() => {});
    if (options.compactionIntervalMs > 0) {
      this.#compactionTimer = setInterval(() => this.#autoCompact(), options.compactionIntervalMs);
      this.#compactionTimer.unref();
    }
  }

  async currentRevision(): Promise<number> {
    this.#checkOpen();
    return this.#committed;
  }

  async get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined> {
    assertKey(key);
    this.#checkOpen();
    let row: Row | undefined;
    try {
      row = this.#read.current.get(key) as Row | undefined;
    } catch (err) {
      throw storeFailure(err, 'reading from SQLite failed');
    }
    return row ? { key, value: decodeValue<T>(row.value), revision: row.revision } : undefined;
  }

  async list<T extends KubeObject = KubeObject>(prefix: string, options: ListOptions = {}): Promise<ListResult<T>> {
    assertPrefix(prefix);
    assertListOptions(options);
    this.#checkOpen();
    const revision = options.revision ?? this.#committed;
    assertReadable(revision, this.#committed, this.#compacted);
    const limit = options.limit || 0;
    const exclusive = options.startAfter !== undefined && options.startAfter >= prefix;
    const start = exclusive ? options.startAfter! : prefix;
    const end = prefixEnd(prefix);
    const atPresent = revision === this.#committed;
    try {
      const params: (string | number)[] = [start];
      if (end !== undefined) params.push(end);
      if (!atPresent) params.push(revision);
      const rows = this.#listStatement(atPresent, exclusive, end !== undefined, false).all(
        ...params,
        limit > 0 ? limit + 1 : -1,
      ) as Row[];
      const items: Versioned<T>[] = [];
      for (const row of rows) {
        if (!row.key.startsWith(prefix)) continue;
        if (limit > 0 && items.length === limit) break;
        items.push({ key: row.key, value: decodeValue<T>(row.value), revision: row.revision });
      }
      if (limit === 0 || rows.length <= limit) return { items, revision, more: false };
      const last = items[items.length - 1]!.key;
      const countParams: (string | number)[] = [last];
      if (end !== undefined) countParams.push(end);
      if (!atPresent) countParams.push(revision);
      const { n } = this.#listStatement(atPresent, true, end !== undefined, true).get(...countParams) as { n: number };
      return { items, revision, more: true, remaining: n };
    } catch (err) {
      throw storeFailure(err, 'reading from SQLite failed');
    }
  }

  create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    return this.#write<T>((revision) => {
      const current = this.#stmt.current.get(key) as Row | undefined;
      if (current) throw new StoreError('ERR_STORE_EXISTS', `key ${key} already exists`, { key, revision: current.revision });
      const json = encodeValue(value, revision);
      this.#stmt.insert.run(revision, key, 1, 0, 0, json);
      this.#stmt.setCurrent.run(key, revision);
      return { revision, key, type: 'ADDED', json };
    });
  }

  update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    assertExpectedRevision(expectedRevision);
    return this.#write<T>((revision) => {
      const current = this.#precondition(key, expectedRevision);
      const json = encodeValue(value, revision);
      this.#stmt.insert.run(revision, key, 0, 0, current.revision, json);
      this.#stmt.setCurrent.run(key, revision);
      return { revision, key, type: 'MODIFIED', json, prevJson: current.value };
    });
  }

  delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertExpectedRevision(expectedRevision);
    return this.#write<T>((revision) => {
      const current = this.#precondition(key, expectedRevision);
      const json = restamp(current.value, revision);
      this.#stmt.insert.run(revision, key, 0, 1, current.revision, json);
      this.#stmt.deleteCurrent.run(key);
      return { revision, key, type: 'DELETED', json, prevJson: current.value };
    });
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
    // a batch still open this turn commits first: its revisions count
    this.#commitNow();
    assertNotFuture(revision, this.#committed);
    this.#watchers.flush();
    try {
      await this.#compactTo(revision);
    } catch (err) {
      throw storeFailure(err, 'compacting the SQLite store failed');
    }
  }

  async compactedRevision(): Promise<number> {
    this.#checkOpen();
    return this.#compacted;
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreError('ERR_STORE_UNAVAILABLE', 'the store is closed');
    try {
      this.#read.meta.get('revision');
    } catch (err) {
      throw new StoreError('ERR_STORE_UNAVAILABLE', `SQLite does not answer: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#commitNow();
    this.#closed = true;
    if (this.#compactionTimer) clearInterval(this.#compactionTimer);
    await this.#compaction;
    this.#watchers.failAll(storeClosed());
    this.#reader.close();
    this.#db.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw storeClosed();
  }


  #precondition(key: string, expectedRevision: number | undefined): Row {
    const current = this.#stmt.current.get(key) as Row | undefined;
    if (!current) throw new StoreError('ERR_STORE_NOT_FOUND', `key ${key} not found`, { key });
    if (expectedRevision !== undefined && current.revision !== expectedRevision) {
      throw new StoreError('ERR_STORE_CONFLICT', `key ${key} is at revision ${current.revision}, not ${expectedRevision}`, {
        key,
        revision: current.revision,
      });
    }
    return current;
  }

  /**
   * Runs one write in this turn's batch. `apply` gets the revision to use and writes its rows; it
   * may throw (precondition failed) and then nothing of it remains.
   */
  #write<T extends KubeObject>(apply: (revision: number) => LogRecord): Promise<Versioned<T>> {
    if (this.#closed) return Promise.reject(storeClosed());
    let batch: Batch;
    try {
      batch = this.#batch ?? this.#begin();
    } catch (err) {
      return Promise.reject(storeFailure(err, 'cannot start a SQLite transaction'));
    }
    let record: LogRecord;
    try {
      record = this.#savepoint(apply, batch.revision + 1);
    } catch (err) {
      if (!this.#db.inTransaction) this.#abort(batch, err);
      return Promise.reject(storeFailure(err, 'writing to SQLite failed'));
    }
    batch.revision = record.revision;
    batch.records.push(record);
    return new Promise<Versioned<T>>((resolve, reject) => {
      batch.waiters.push({
        resolve: resolve as (v: Versioned) => void,
        reject,
        result: { key: record.key, value: decodeValue(record.json), revision: record.revision },
      });
    });
  }

  #begin(): Batch {
    this.#db.exec('BEGIN IMMEDIATE');
    let revision: number;
    try {
      revision = this.#stmt.meta.get('revision') as number;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    const batch: Batch = { revision, records: [], waiters: [], timer: setImmediate(() => this.#commit(batch)) };
    this.#batch = batch;
    return batch;
  }

  #commitNow(): void {
    const batch = this.#batch;
    if (!batch) return;
    clearImmediate(batch.timer);
    this.#commit(batch);
  }

  #commit(batch: Batch): void {
    if (this.#batch !== batch) return;
    this.#batch = undefined;
    try {
      if (batch.records.length > 0) this.#stmt.setMeta.run(batch.revision, 'revision');
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#abort(batch, err);
      return;
    }
    if (batch.records.length === 0) return;
    this.#committed = batch.revision;
    this.#recent.push(...batch.records);
    if (this.#recent.length > this.#watchCacheSize * 2) this.#recent = this.#recent.slice(-this.#watchCacheSize);
    for (const w of batch.waiters) w.resolve(w.result);
    this.#watchers.notify();
  }

  /** The batch's transaction is gone: every write in it fails. */
  #abort(batch: Batch, err: unknown): void {
    if (this.#batch === batch) {
      this.#batch = undefined;
      clearImmediate(batch.timer);
    }
    try {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } catch {
      // the connection already rolled back
    }
    const failure = storeFailure(err, 'committing to SQLite failed');
    for (const w of batch.waiters) w.reject(failure);
  }

  #readLog(after: number, upTo: number, prefix: string, limit: number): LogRecord[] {
    const recent = this.#recent;
    if (recent.length > 0 && after >= recent[0]!.revision - 1) return readRecords(recent, after, upTo, prefix, limit);
    const end = prefixEnd(prefix);
    const rows = (
      end === undefined
        ? this.#read.logFrom.all(after, upTo, prefix, limit)
        : this.#read.logRange.all(after, upTo, prefix, end, limit)
    ) as LogRow[];
    const out: LogRecord[] = [];
    for (const row of rows) {
      if (!row.key.startsWith(prefix)) continue;
      const type = row.deleted ? 'DELETED' : row.created ? 'ADDED' : 'MODIFIED';
      out.push({ revision: row.revision, key: row.key, type, json: row.value, prevJson: row.prev ?? undefined });
    }
    return out;
  }

  #listStatement(atPresent: boolean, exclusive: boolean, bounded: boolean, count: boolean): Statement {
    const id = `${atPresent}/${exclusive}/${bounded}/${count}`;
    let stmt = this.#listStatements.get(id);
    if (stmt) return stmt;
    const lower = exclusive ? '>' : '>=';
    if (atPresent) {
      const where = `c.key ${lower} ?${bounded ? ' AND c.key < ?' : ''}`;
      stmt = this.#reader.prepare(
        count
          ? `SELECT COUNT(*) AS n FROM current c WHERE ${where}`
          : `SELECT c.key AS key, c.revision AS revision, l.value AS value
             FROM current c JOIN log l ON l.revision = c.revision
             WHERE ${where} ORDER BY c.key LIMIT ?`,
      );
    } else {
      const latest = `SELECT key AS k, MAX(revision) AS r FROM log
                      WHERE key ${lower} ?${bounded ? ' AND key < ?' : ''} AND revision <= ? GROUP BY key`;
      stmt = this.#reader.prepare(
        count
          ? `SELECT COUNT(*) AS n FROM (${latest}) m JOIN log l ON l.revision = m.r WHERE l.deleted = 0`
          : `SELECT l.key AS key, l.revision AS revision, l.value AS value
             FROM (${latest}) m JOIN log l ON l.revision = m.r
             WHERE l.deleted = 0 ORDER BY m.k LIMIT ?`,
      );
    }
    this.#listStatements.set(id, stmt);
    return stmt;
  }

  #autoCompact(): void {
    if (this.#closed) return;
    const target = this.#lastTickRevision;
    this.#lastTickRevision = this.#committed;
    if (target > this.#compacted) this.#compactTo(target).catch(() => {});
  }

  /**
   * Marks history before `revision` as gone (reads there fail from now on), then deletes the rows
   * no read at or after `revision` can need, a chunk per event-loop turn.
   */
  #compactTo(revision: number): Promise<void> {
    if (revision <= this.#compacted) return this.#compaction;
    this.#commitNow();
    this.#stmt.setMeta.run(revision, 'compacted');
    this.#compacted = revision;
    this.#compaction = this.#compaction.catch(() => {}).then(() => this.#sweep());
    return this.#compaction;
  }

  async #sweep(): Promise<void> {
    const step = 2000;
    while (!this.#closed && this.#swept < this.#compacted) {
      this.#commitNow();
      const from = this.#swept;
      const to = Math.min(this.#compacted, from + step);
      this.#db.transaction(() => {
        this.#stmt.deleteSuperseded.run(from, to);
        this.#stmt.deleteTombstones.run(from, to);
        this.#stmt.setMeta.run(to, 'swept');
      }).immediate();
      this.#swept = to;
      if (this.#swept < this.#compacted) await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function prepareWriter(db: Db) {
  return {
    meta: db.prepare(`SELECT value FROM meta WHERE name = ?`).pluck(),
    setMeta: db.prepare(`UPDATE meta SET value = ? WHERE name = ?`),
    current: db.prepare(
      `SELECT c.revision AS revision, l.value AS value FROM current c JOIN log l ON l.revision = c.revision WHERE c.key = ?`,
    ),
    insert: db.prepare(`INSERT INTO log (revision, key, created, deleted, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?)`),
    setCurrent: db.prepare(
      `INSERT INTO current (key, revision) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET revision = excluded.revision`,
    ),
    deleteCurrent: db.prepare(`DELETE FROM current WHERE key = ?`),
    // rows replaced by a row in (from, to]: no read at or after `to` can see them
    deleteSuperseded: db.prepare(
      `DELETE FROM log WHERE revision IN
         (SELECT prev_revision FROM log WHERE revision > ? AND revision <= ? AND prev_revision > 0)`,
    ),
    // deletions in (from, to]: the key is absent at `to`, and watches start after it
    deleteTombstones: db.prepare(`DELETE FROM log WHERE revision > ? AND revision <= ? AND deleted = 1`),
  };
}

function prepareReader(db: Db) {
  const logSelect = `SELECT l.revision AS revision, l.key AS key, l.created AS created, l.deleted AS deleted,
                            l.value AS value, p.value AS prev
                     FROM log l LEFT JOIN log p ON p.revision = l.prev_revision`;
  return {
    meta: db.prepare(`SELECT value FROM meta WHERE name = ?`).pluck(),
    current: db.prepare(
      `SELECT c.revision AS revision, l.value AS value FROM current c JOIN log l ON l.revision = c.revision WHERE c.key = ?`,
    ),
    // `+l.key` keeps SQLite on the revision (rowid) range rather than the key index
    logRange: db.prepare(
      `${logSelect} WHERE l.revision > ? AND l.revision <= ? AND +l.key >= ? AND +l.key < ? ORDER BY l.revision LIMIT ?`,
    ),
    logFrom: db.prepare(`${logSelect} WHERE l.revision > ? AND l.revision <= ? AND +l.key >= ? ORDER BY l.revision LIMIT ?`),
  };
}
