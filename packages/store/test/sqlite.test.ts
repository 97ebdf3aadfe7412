import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isStoreError, openSqliteStore } from '@boundtoken/store';
import { runStoreConformance } from '@boundtoken/store/testing';

const dir = mkdtempSync(join(tmpdir(), 'boundtoken-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let path = '';

runStoreConformance('sqlite', {
  open: () => {
    path = join(dir, `conformance-${n++}.db`);
    return openSqliteStore({ path });
  },
  reopen: () => openSqliteStore({ path }),
});

const writer = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));

/** Runs the writer child until it has acknowledged `acks` writes, then SIGKILLs it mid-burst. */
async function killDuringBurst(dbPath: string, synchronous: 'full' | 'normal', acks: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--conditions=@boundtoken/source', '--import', 'tsx', writer, dbPath, synchronous], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let lines = 0;
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer made too little progress:\n${err}`)), 30_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        for (const c of d) if (c === '\n') lines++;
        if (lines > acks) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`writer exited early:\n${err}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  // only complete lines were acknowledged
  return out.split('\n').slice(0, -1).filter((l) => l !== 'ready');
}

describe('sqlite durability', () => {
  for (const synchronous of ['full', 'normal'] as const) {
    test(`kill -9 during a burst of writes loses no acknowledged write (synchronous=${synchronous})`, async () => {
      const dbPath = join(dir, `kill-${synchronous}.db`);
      const lines = await killDuringBurst(dbPath, synchronous, 3000);
      assert.ok(lines.length >= 3000);
      const store = await openSqliteStore({ path: dbPath });
      try {
        let maxAcked = 0;
        const lastUpdate = new Map<string, { revision: number; n: number }>();
        for (const line of lines) {
          const [op, key, rev, count] = line.split(' ');
          const revision = Number(rev);
          maxAcked = Math.max(maxAcked, revision);
          if (op === 'create') {
            const got = await store.get(key!);
            assert.ok(got, `acknowledged create of ${key} at ${revision} is missing`);
            assert.equal(got.revision, revision);
          } else {
            lastUpdate.set(key!, { revision, n: Number(count) });
          }
        }
        for (const [key, acked] of lastUpdate) {
          const got = await store.get<{ data: { n: number } }>(key);
          assert.ok(got, `counter ${key} is missing`);
          // a later, unacknowledged update may have committed too, but never less than the acknowledged one
          assert.ok(got.revision >= acked.revision, `${key}: stored ${got.revision} < acknowledged ${acked.revision}`);
          assert.ok(got.value.data.n >= acked.n);
        }
        assert.ok((await store.currentRevision()) >= maxAcked);
        // and the store carries on from there
        const next = await store.create('/registry/configmaps/ns/after-crash', {});
        assert.ok(next.revision > maxAcked);
      } finally {
        await store.close();
      }
    });
  }
});

describe('sqlite files', () => {
  test('a new database file is private (0600)', async () => {
    const dbPath = join(dir, 'private.db');
    const store = await openSqliteStore({ path: dbPath });
    await store.create('/registry/secrets/ns/s', { data: { token: 'x' } });
    await store.close();
    assert.equal(statSync(dbPath).mode & 0o777, 0o600);
  });

  test('a file that is not a store is refused and left untouched', async () => {
    const cases: [string, () => void][] = [
      ['garbage', () => writeFileSync(join(dir, 'garbage.db'), Buffer.alloc(8192, 'not a database '))],
      [
        'foreign',
        () => {
          const db = new Database(join(dir, 'foreign.db'));
          db.exec('CREATE TABLE users (name TEXT)');
          db.close();
        },
      ],
      [
        'future',
        () => {
          const db = new Database(join(dir, 'future.db'));
          db.pragma('user_version = 99');
          db.close();
        },
      ],
    ];
    for (const [name, make] of cases) {
      make();
      const file = join(dir, `${name}.db`);
      const before = readFileSync(file);
      await assert.rejects(openSqliteStore({ path: file }), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'), name);
      assert.deepEqual(readFileSync(file), before, `${name} was modified`);
    }
    await assert.rejects(openSqliteStore({ path: join(dir, 'no/such/dir/x.db') }), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'));
  });

  test('invalid options are caller misuse', async () => {
    await assert.rejects(openSqliteStore({ path: '' }), TypeError);
    await assert.rejects(openSqliteStore({ path: ':memory:' }), TypeError);
    await assert.rejects(openSqliteStore({ path: join(dir, 'x.db'), synchronous: 'off' as 'full' }), TypeError);
    await assert.rejects(openSqliteStore({ path: join(dir, 'x.db'), compactionIntervalMs: -1 }), TypeError);
  });
});

function logRows(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM log').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('sqlite compaction', () => {
  test('compaction deletes superseded rows and keeps every readable version', async () => {
    const dbPath = join(dir, 'compact.db');
    const store = await openSqliteStore({ path: dbPath, compactionIntervalMs: 0 });
    await store.create('/registry/configmaps/ns/a', { data: { n: 0 } });
    for (let i = 1; i <= 50; i++) await store.update('/registry/configmaps/ns/a', { data: { n: i } });
    await store.create('/registry/configmaps/ns/gone', {});
    await store.delete('/registry/configmaps/ns/gone');
    await store.create('/registry/configmaps/ns/b', {});
    const middle = await store.currentRevision();
    for (let i = 51; i <= 60; i++) await store.update('/registry/configmaps/ns/a', { data: { n: i } });
    assert.equal(logRows(dbPath), 64);
    await store.compact(middle);
    // a@50 and b stay for reads at `middle`; the 10 later updates stay for watches
    assert.equal(logRows(dbPath), 12);
    const atMiddle = await store.list('/registry/', { revision: middle });
    assert.deepEqual(
      atMiddle.items.map((i) => [i.key, i.value['data']]),
      [
        ['/registry/configmaps/ns/a', { n: 50 }],
        ['/registry/configmaps/ns/b', undefined],
      ],
    );
    await store.close();
  });

  test('automatic compaction keeps one to two intervals of history', async () => {
    const dbPath = join(dir, 'auto.db');
    const store = await openSqliteStore({ path: dbPath, compactionIntervalMs: 40 });
    const first = await store.create('/registry/configmaps/ns/a', { data: { n: 0 } });
    for (let i = 1; i <= 20; i++) await store.update('/registry/configmaps/ns/a', { data: { n: i } });
    const deadline = Date.now() + 5000;
    while ((await store.compactedRevision()) <= first.revision && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok((await store.compactedRevision()) > first.revision);
    await assert.rejects(store.list('/registry/', { revision: first.revision }), (err) => isStoreError(err, 'ERR_STORE_COMPACTED'));
    assert.equal((await store.get('/registry/configmaps/ns/a'))?.value['data'] && true, true);
    await store.close();
  });

  test('a compaction interrupted by a crash is finished on the next open', async () => {
    const dbPath = join(dir, 'interrupted.db');
    let store = await openSqliteStore({ path: dbPath, compactionIntervalMs: 0 });
    await store.create('/registry/configmaps/ns/a', { data: { n: 0 } });
    for (let i = 1; i <= 30; i++) await store.update('/registry/configmaps/ns/a', { data: { n: i } });
    const revision = await store.currentRevision();
    await store.close();
    // as if the process died right after recording the compaction, before deleting anything
    const raw = new Database(dbPath);
    raw.prepare(`UPDATE meta SET value = ? WHERE name = 'compacted'`).run(revision);
    raw.close();
    assert.equal(logRows(dbPath), 31);
    store = await openSqliteStore({ path: dbPath, compactionIntervalMs: 0 });
    assert.equal(await store.compactedRevision(), revision);
    await store.close();
    assert.equal(logRows(dbPath), 1);
  });
});
