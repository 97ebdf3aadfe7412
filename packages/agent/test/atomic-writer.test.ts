import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AtomicWriter, cleanPath, timestampPrefix, validatePath, type FileProjection } from '../src/atomic-writer.ts';
import { setVolumeOwnership } from '../src/volume-ownership.ts';

const isRoot = process.getuid?.() === 0;

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'bt-aw-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

let n = 0;
async function newDir(): Promise<string> {
  const dir = join(base, `v${n++}`);
  await mkdir(dir);
  return dir;
}

function payload(entries: Record<string, string | [string, number]>): Map<string, FileProjection> {
  return new Map(
    Object.entries(entries).map(([k, v]) => [k, typeof v === 'string' ? { data: v, mode: 0o644 } : { data: v[0], mode: v[1] }]),
  );
}

async function visible(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => !n.startsWith('..')).sort();
}

async function tsDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('..') && n !== '..data').sort();
}

describe('AtomicWriter layout', () => {
  test('files live in a timestamped directory behind ..data, visible through top-level links', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir, { now: () => new Date('2026-03-01T19:17:08Z') });
    assert.equal(await w.write(payload({ token: 'abc', 'ca.crt': 'CA', 'nested/deep/file': 'x' })), 'written');
    const data = await readlink(join(dir, '..data'));
    assert.match(data, /^\.\.2026_03_01_19_17_08\.\d+$/);
    assert.deepEqual(await tsDirs(dir), [data]);
    assert.equal((await stat(join(dir, data))).mode & 0o777, 0o755);
    assert.deepEqual(await visible(dir), ['ca.crt', 'nested', 'token']);
    assert.equal(await readlink(join(dir, 'token')), '..data/token');
    assert.equal(await readlink(join(dir, 'nested')), '..data/nested');
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), 'abc');
    assert.equal(await readFile(join(dir, 'nested/deep/file'), 'utf8'), 'x');
    assert.ok((await lstat(join(dir, data, 'token'))).isFile());
  });

  test('a change swaps ..data to a new directory and removes the old one', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir, { retainPreviousMs: 0 });
    await w.write(payload({ token: 'one' }));
    const first = await readlink(join(dir, '..data'));
    assert.equal(await w.write(payload({ token: 'two' })), 'written');
    const second = await readlink(join(dir, '..data'));
    assert.notEqual(first, second);
    assert.deepEqual(await tsDirs(dir), [second]);
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), 'two');
  });

  test('the previous directory outlives the swap by retainPreviousMs', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir, { retainPreviousMs: 50 });
    await w.write(payload({ token: 'one' }));
    const first = await readlink(join(dir, '..data'));
    await w.write(payload({ token: 'two' }));
    assert.equal((await tsDirs(dir)).length, 2);
    assert.equal(await readFile(join(dir, first, 'token'), 'utf8'), 'one');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(await tsDirs(dir), [await readlink(join(dir, '..data'))]);
  });

  test('unchanged bytes: nothing is written, whatever the modes', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(payload({ token: 'same', 'a/b': 'c' }));
    const first = await readlink(join(dir, '..data'));
    assert.equal(await w.write(payload({ token: ['same', 0o600], 'a/b': 'c' })), 'unchanged');
    assert.equal(await readlink(join(dir, '..data')), first);
    assert.equal((await stat(join(dir, 'token'))).mode & 0o777, 0o644);
  });

  test('an unchanged write still restores a missing top-level link (#121472)', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(payload({ token: 'same' }));
    await unlink(join(dir, 'token'));
    assert.equal(await w.write(payload({ token: 'same' })), 'unchanged');
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), 'same');
  });

  test('paths dropped from the payload disappear; parents of kept paths stay', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir, { retainPreviousMs: 0 });
    await w.write(payload({ a: '1', b: '2', 'd/x': '3', 'd/y': '4', 'e/z': '5' }));
    assert.equal(await w.write(payload({ a: '1', 'd/x': '3' })), 'written');
    assert.deepEqual(await visible(dir), ['a', 'd']);
    assert.deepEqual(await readdir(join(dir, 'd')), ['x']);
    // removing alone (same bytes for the rest) is a change too
    assert.equal(await w.write(payload({ a: '1' })), 'written');
    assert.deepEqual(await visible(dir), ['a']);
    assert.equal((await tsDirs(dir)).length, 1);
  });

  test('an empty payload leaves only ..data and an empty directory', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(payload({ a: '1' }));
    await w.write(new Map());
    assert.deepEqual(await visible(dir), []);
    assert.deepEqual(await readdir(join(dir, '..data')), []);
  });

  test('paths are cleaned (a//b/./c → a/b/c)', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(payload({ 'a//b/./c': 'x', './top': 'y' }));
    assert.equal(await readFile(join(dir, '..data/a/b/c'), 'utf8'), 'x');
    assert.deepEqual(await visible(dir), ['a', 'top']);
  });

  test('the target directory must exist', async () => {
    await assert.rejects(AtomicWriter.open(join(base, 'missing')), { code: 'ERR_TARGET_DIR' });
  });

  test('timestamp prefix is UTC ..YYYY_MM_DD_HH_MM_SS.', () => {
    assert.equal(timestampPrefix(new Date('2006-01-02T15:04:05.999Z')), '..2006_01_02_15_04_05.');
  });
});

describe('AtomicWriter validation', () => {
  const bad: [string, string, RegExp][] = [
    ['empty', '', /must not be empty/],
    ['absolute', '/etc/passwd', /must be relative path/],
    ['dot-dot element', 'a/../b', /must not contain '\.\.'/],
    ['dot-dot alone', '..', /must not contain '\.\.'/],
    ['reserved prefix', '..data', /must not start with '\.\.'/],
    ['reserved prefix nested', '..foo/bar', /must not start with '\.\.'/],
    ['reserved after cleaning', './..data', /must not start with '\.\.'/],
    ['long element', 'x'.repeat(256), /filenames must be less than or equal to 255 characters/],
    ['long path', `${'a/'.repeat(2048)}b`, /must be less than or equal to 4096 characters/],
    ['multi-byte element', 'é'.repeat(128), /filenames must be less than or equal to 255/],
    ['dot only', '.', /must name a file/],
  ];
  for (const [name, path, message] of bad) {
    test(`rejects ${name}`, async () => {
      const dir = await newDir();
      const w = await AtomicWriter.open(dir);
      await w.write(payload({ keep: 'old' }));
      await assert.rejects(w.write(payload({ keep: 'new', [path]: 'x' })), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_INVALID_PATH');
        assert.match(err.message, message);
        return true;
      });
      // nothing changed on disk
      assert.equal(await readFile(join(dir, 'keep'), 'utf8'), 'old');
      assert.equal((await tsDirs(dir)).length, 1);
    });
  }

  const good = ['a..b', '.hidden', 'a/..b', 'x'.repeat(255), 'a/b/c/d'];
  for (const path of good) {
    test(`accepts ${path.slice(0, 20)}`, () => {
      assert.doesNotThrow(() => validatePath(path));
    });
  }

  test('cleanPath', () => {
    assert.equal(cleanPath('a/b/'), 'a/b');
    assert.equal(cleanPath('./a'), 'a');
    assert.equal(cleanPath('a//b'), 'a/b');
  });

  test('a mode outside 0..07777 is caller misuse', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await assert.rejects(w.write(payload({ a: ['x', 0o10000] })), TypeError);
  });
});

describe('AtomicWriter modes and ownership', () => {
  test('each file gets its mode regardless of the umask', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    const old = process.umask(0o077);
    try {
      await w.write(payload({ a: ['1', 0o644], b: ['2', 0o400], c: ['3', 0o755], 'd/e': ['4', 0o444] }));
    } finally {
      process.umask(old);
    }
    const mode = async (p: string) => (await stat(join(dir, p))).mode & 0o7777;
    assert.equal(await mode('a'), 0o644);
    assert.equal(await mode('b'), 0o400);
    assert.equal(await mode('c'), 0o755);
    assert.equal(await mode('d/e'), 0o444);
  });

  test('fsUser chowns the file', { skip: !isRoot && 'needs root' }, async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(new Map([['token', { data: 't', mode: 0o600, fsUser: 4321 }], ['ca.crt', { data: 'c', mode: 0o644 }]]));
    assert.equal((await stat(join(dir, 'token'))).uid, 4321);
    assert.equal((await stat(join(dir, 'ca.crt'))).uid, 0);
  });

  test('fsGroup: group ownership, files | 0440, directories | 0550 + setgid', { skip: !isRoot && 'needs root' }, async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    const setPerms = () => setVolumeOwnership(dir, 2000);
    await w.write(payload({ token: ['t', 0o600], 'd/f': ['x', 0o600] }), setPerms);
    const token = await stat(join(dir, 'token'));
    assert.equal(token.gid, 2000);
    assert.equal(token.mode & 0o7777, 0o640);
    const d = await stat(join(dir, '..data/d'));
    assert.equal(d.gid, 2000);
    assert.equal(d.mode & 0o7777, 0o2000 | 0o755 | 0o550);
    // links are chowned but never chmodded
    assert.equal((await lstat(join(dir, 'token'))).gid, 2000);
    assert.equal((await lstat(join(dir, '..data'))).gid, 2000);
  });

  test('without fsGroup, ownership is left alone', async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    await w.write(payload({ token: ['t', 0o600] }), () => setVolumeOwnership(dir, undefined));
    assert.equal((await stat(join(dir, 'token'))).mode & 0o7777, 0o600);
  });
});

describe('AtomicWriter readers', () => {
  // the 10 000 rotations (about 15–25 s); BOUNDTOKEN_TEST_ROTATIONS lowers it for quick runs
  const ROUNDS = Number(process.env.BOUNDTOKEN_TEST_ROTATIONS ?? 10_000);
  test(`a reader in a tight loop never sees a missing, empty or partial file across ${ROUNDS} rewrites`, async () => {
    const dir = await newDir();
    const w = await AtomicWriter.open(dir);
    const body = (gen: number, name: string) => `${name}:${gen}:${'x'.repeat(8192)}:end`;
    const files = ['token', 'ca.crt', 'sub/namespace'];
    const gen0 = new Map(files.map((f) => [f, { data: body(0, f), mode: 0o644 }]));
    await w.write(gen0);

    const stopBuf = new SharedArrayBuffer(4);
    const reader = new Worker(
      `
      const { readFileSync } = require('node:fs');
      const { workerData, parentPort } = require('node:worker_threads');
      const stop = new Int32Array(workerData.stop);
      const last = {};
      let reads = 0;
      const problems = [];
      while (Atomics.load(stop, 0) === 0 && problems.length < 20) {
        for (const f of workerData.files) {
          let text;
          try { text = readFileSync(workerData.dir + '/' + f, 'utf8'); }
          catch (e) { problems.push(f + ': ' + e.code); continue; }
          reads++;
          const m = /^([^:]+):(\\d+):x{8192}:end$/.exec(text);
          if (!m || m[1] !== f) { problems.push(f + ': partial (' + text.length + ' bytes)'); continue; }
          const gen = Number(m[2]);
          if (last[f] !== undefined && gen < last[f]) problems.push(f + ': went back from ' + last[f] + ' to ' + gen);
          last[f] = gen;
        }
      }
      parentPort.postMessage({ reads, problems, last });
      `,
      { eval: true, workerData: { dir, files, stop: stopBuf } },
    );
    const result = new Promise<{ reads: number; problems: string[]; last: Record<string, number> }>((resolve, reject) => {
      reader.once('message', resolve);
      reader.once('error', reject);
    });
    for (let gen = 1; gen <= ROUNDS; gen++) {
      await w.write(new Map(files.map((f) => [f, { data: body(gen, f), mode: 0o644 }])));
    }
    Atomics.store(new Int32Array(stopBuf), 0, 1);
    const { reads, problems, last } = await result;
    await reader.terminate();
    assert.deepEqual(problems, []);
    assert.ok(reads > ROUNDS, `only ${reads} reads`);
    assert.ok(last.token! > 0, 'the reader saw rewrites');
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), body(ROUNDS, 'token'));
  });
});
