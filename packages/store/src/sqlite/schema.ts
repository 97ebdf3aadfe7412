/**
 * The on-disk layout of the SQLite backend (schema version 1).
 *
 *  - `log`: one row per revision, kine-style. `value` is the object's JSON with
 *    `metadata.resourceVersion` = the row's revision (for a deletion: the last value, stamped with
 *    the deletion's revision). `prev_revision` points at the row this one replaced, which is what
 *    watches read `prevValue` from and what compaction deletes.
 *  - `current`: key → revision of its live row, so reads of the present are one index lookup.
 *  - `meta`: `revision` (the last committed revision), `compacted` (history before it is gone)
 *    and `swept` (compaction has deleted the superseded rows up to here).
 */
import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  revision      INTEGER PRIMARY KEY,
  key           TEXT    NOT NULL,
  created       INTEGER NOT NULL,
  deleted       INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value         TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);
CREATE TABLE IF NOT EXISTS current (
  key      TEXT    PRIMARY KEY,
  revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0), ('swept', 0);
`;

/**
 * Refuses, without writing anything, a file that is not a SQLite database, a database with other
 * tables, or a store of another schema version.
 */
export function checkSchema(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new Error(`unsupported store schema version ${version} (this build reads version ${SCHEMA_VERSION})`);
  }
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
  if (tables.some((t) => !['log', 'current', 'meta'].includes(t.name))) {
    throw new Error('the database holds tables that are not a boundtoken store');
  }
}

/** Creates the schema in a new database (after checkSchema). */
export function migrate(db: Database): void {
  if (db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
