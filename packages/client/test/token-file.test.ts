import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TokenFile, TokenFileError, readTokenFile } from '@boundtoken/client';
import { atomicWrite } from './helpers/atomic-writer.ts';
import { fakeJwt } from './helpers/jwt.ts';

const root = mkdtempSync(join(tmpdir(), 'bt-tokenfile-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
function freshDir(): string {
  const d = join(root, `v${++seq}`);
  mkdirSync(d);
  return d;
}

function nextChange(tf: TokenFile): Promise<string> {
  return new Promise((resolve) => {
    const off = tf.onChange((t) => {
      off();
      resolve(t);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('AtomicWriter volume: the initial token, and each rotation seen within one second of the swap', async () => {
  const dir = freshDir();
  const first = fakeJwt(1);
  atomicWrite(dir, { token: `${first}\n`, 'ca.crt': 'CA', namespace: 'istio-system' });
  const tf = await TokenFile.open(join(dir, 'token'));
  try {
    assert.equal(tf.token, first, 'whitespace trimmed');
    assert.equal(tf.status().watching, true);
    for (let i = 2; i < 6; i++) {
      const next = fakeJwt(i);
      const changed = nextChange(tf);
      const swappedAt = Date.now();
      atomicWrite(dir, { token: next, 'ca.crt': 'CA', namespace: 'istio-system' });
      const seen = await Promise.race([changed, sleep(1000).then(() => 'timeout')]);
      assert.equal(seen, next, `rotation ${i} seen within 1 s`);
      assert.equal(tf.token, next);
      assert.ok(tf.status().changedAt - swappedAt < 1000);
    }
  } finally {
    tf.close();
  }
});

test('readers in a tight loop never see an empty or partial token while the volume rotates', async () => {
  const dir = freshDir();
  const written = new Set<string>();
  const t0 = fakeJwt(0);
  written.add(t0);
  atomicWrite(dir, { token: t0 });
  const tf = await TokenFile.open(join(dir, 'token'));
  let stop = false;
  const seen = new Set<string>();
  let reads = 0;
  const bad: string[] = [];
  // reader 1: the TokenFile getter, in a tight loop that yields to the event loop now and then
  const getterLoop = (async () => {
    while (!stop) {
      for (let i = 0; i < 1000; i++) {
        const t = tf.token;
        reads++;
        if (!written.has(t)) bad.push(t);
        seen.add(t);
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  // reader 2: fresh checked reads of the file, back to back
  const fileLoop = (async () => {
    while (!stop) {
      try {
        const t = await readTokenFile(join(dir, 'token'));
        reads++;
        if (!written.has(t)) bad.push(t);
      } catch (err) {
        // a read may fail between the swap and the old directory's removal; it must never return garbage
        assert.ok(err instanceof TokenFileError && err.code === 'ERR_TOKEN_FILE_READ', String(err));
      }
    }
  })();
  for (let i = 1; i <= 150; i++) {
    const t = fakeJwt(i, i % 2 ? 'ES256' : 'RS256');
    written.add(t);
    atomicWrite(dir, { token: t });
    if (i % 10 === 0) await sleep(1);
  }
  const last = [...written].at(-1)!;
  const deadline = Date.now() + 5000;
  while (tf.token !== last && Date.now() < deadline) await sleep(10);
  stop = true;
  await Promise.all([getterLoop, fileLoop]);
  tf.close();
  assert.deepEqual(bad, []);
  assert.ok(reads > 1000, `reads: ${reads}`);
  assert.equal(tf.token, last, 'the last rotation was picked up');
  assert.ok(seen.size > 1, 'the getter saw rotations');
});

test('plain file (AWS web identity style): a file rewritten in place is never taken half-written', async () => {
  const dir = freshDir();
  const path = join(dir, 'web-identity-token');
  const t1 = fakeJwt(1);
  writeFileSync(path, t1);
  const tf = await TokenFile.open(path);
  const seen: string[] = [];
  tf.onChange((t) => seen.push(t));
  const errors: TokenFileError[] = [];
  tf.onError((e) => errors.push(e));
  try {
    // Truncate, then write the new token in two halves with a pause between them.
    const t2 = fakeJwt(2);
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, 0);
    await sleep(30);
    writeSync(fd, t2.slice(0, 200), 0);
    await sleep(30);
    writeSync(fd, t2.slice(200), 200);
    closeSync(fd);
    await sleep(200);
    assert.equal(tf.token, t2);
    assert.deepEqual(seen, [t2], 'only the complete token was ever published');
    assert.ok(errors.some((e) => e.code === 'ERR_TOKEN_FILE_EMPTY' || e.code === 'ERR_TOKEN_FILE_MALFORMED'), 'the half-written states were reported');
    assert.equal(tf.status().lastError, undefined, 'a good read clears the error');

    // Replaced by rename (how the AWS SDK's writers and editors do it).
    const t3 = fakeJwt(3);
    writeFileSync(`${path}.tmp`, t3);
    const changed = nextChange(tf);
    renameSync(`${path}.tmp`, path);
    assert.equal(await Promise.race([changed, sleep(1000).then(() => 'timeout')]), t3);
  } finally {
    tf.close();
  }
});

test('an unreadable or empty file keeps the last good token and reports why', async () => {
  const dir = freshDir();
  const path = join(dir, 'token');
  const t1 = fakeJwt(1);
  writeFileSync(path, t1);
  const tf = await TokenFile.open(path, { watch: false });
  const errors: TokenFileError[] = [];
  tf.onError((e) => errors.push(e));
  try {
    const cases: [() => void, string][] = [
      [() => rmSync(path), 'ERR_TOKEN_FILE_READ'],
      [() => mkdirSync(path), 'ERR_TOKEN_FILE_READ'],
      [() => (rmSync(path, { recursive: true }), writeFileSync(path, '  \n')), 'ERR_TOKEN_FILE_EMPTY'],
      [() => writeFileSync(path, 'not a jwt'), 'ERR_TOKEN_FILE_MALFORMED'],
      [() => writeFileSync(path, t1.slice(0, -20)), 'ERR_TOKEN_FILE_MALFORMED'],
      [() => writeFileSync(path, 'x'.repeat(70_000)), 'ERR_TOKEN_FILE_TOO_LARGE'],
    ];
    for (const [mutate, code] of cases) {
      mutate();
      assert.equal(await tf.read(), t1, code);
      assert.equal(tf.token, t1);
      assert.equal(tf.status().lastError?.code, code);
      assert.equal(errors.at(-1)?.code, code);
      assert.match(errors.at(-1)!.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    const t2 = fakeJwt(2);
    writeFileSync(path, t2);
    assert.equal(await tf.read(), t2);
    assert.equal(tf.status().lastError, undefined);
  } finally {
    tf.close();
  }
});

test('a volume directory removed and set up again is watched again', async () => {
  const dir = freshDir();
  atomicWrite(dir, { token: fakeJwt(1) });
  const tf = await TokenFile.open(join(dir, 'token'));
  try {
    rmSync(dir, { recursive: true });
    await sleep(20);
    mkdirSync(dir);
    const t2 = fakeJwt(2);
    const changed = nextChange(tf);
    atomicWrite(dir, { token: t2 });
    assert.equal(await Promise.race([changed, sleep(1000).then(() => 'timeout')]), t2);
    assert.equal(tf.status().watching, true);
    const t3 = fakeJwt(3);
    const again = nextChange(tf);
    atomicWrite(dir, { token: t3 });
    assert.equal(await Promise.race([again, sleep(1000).then(() => 'timeout')]), t3, 'rotation seen through the new watch');
  } finally {
    tf.close();
  }
});

test('without a watch, the periodic re-read picks up changes', async () => {
  const dir = freshDir();
  const path = join(dir, 'token');
  writeFileSync(path, fakeJwt(1));
  const tf = await TokenFile.open(path, { watch: false, refreshIntervalMs: 40 });
  try {
    assert.equal(tf.status().watching, false);
    const t2 = fakeJwt(2);
    const changed = nextChange(tf);
    writeFileSync(path, t2);
    assert.equal(await Promise.race([changed, sleep(1000).then(() => 'timeout')]), t2);
  } finally {
    tf.close();
  }
});

test('open: errors and options', async () => {
  const dir = freshDir();
  await assert.rejects(TokenFile.open(join(dir, 'missing')), (e: unknown) => e instanceof TokenFileError && e.code === 'ERR_TOKEN_FILE_READ');
  writeFileSync(join(dir, 'opaque'), ' static-secret \n');
  await assert.rejects(TokenFile.open(join(dir, 'opaque')), (e: unknown) => e instanceof TokenFileError && e.code === 'ERR_TOKEN_FILE_MALFORMED');
  const opaque = TokenFile.openSync(join(dir, 'opaque'), { format: 'opaque' });
  assert.equal(opaque.token, 'static-secret');
  opaque.close();
  assert.throws(() => TokenFile.openSync(join(dir, 'opaque'), { refreshIntervalMs: 120_000 }), TypeError);
  assert.throws(() => TokenFile.openSync(''), TypeError);
  assert.equal(readFileSync(join(dir, 'opaque'), 'utf8'), ' static-secret \n', 'reading never changes the file');
});
