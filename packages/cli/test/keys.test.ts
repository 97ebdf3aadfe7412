import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClaims, createSigner, createVerifier, keyIdOf, loadPublicKeys, loadSigningKey } from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';
import { main } from '../src/main.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'boundtoken-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const mode = (path: string): number => statSync(path).mode & 0o777;

describe('boundtoken keys generate', () => {
  for (const [args, alg] of [
    [['--type', 'rsa'], 'RS256'],
    [['--type', 'ec'], 'ES256'],
    [['--type', 'ec', '--curve', 'P-384'], 'ES384'],
    [['--type', 'ec', '--curve', 'P-521'], 'ES512'],
  ] as const) {
    test(`${args.join(' ')} writes FILE (0600) and FILE.pub (0644) and prints the kid`, async () => {
      const out = join(dir, `${args.join('-')}.key`);
      const r = await run(['keys', 'generate', ...args, '--out', out]);
      assert.equal(r.code, 0, r.err);
      const kid = r.out.trim();
      assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(mode(out), 0o600);
      assert.equal(mode(`${out}.pub`), 0o644);
      const signing = loadSigningKey(readFileSync(out));
      assert.equal(signing.kid, kid);
      assert.equal(signing.alg, alg);
      assert.deepEqual(loadPublicKeys(readFileSync(`${out}.pub`)).map((k) => k.kid), [kid]);
      assert.match(r.err, new RegExp(`^wrote .* \\(.*, ${alg}\\) and .*\\.pub\\n$`));
      // the pair works end to end
      const claims = buildClaims({ issuer: 'https://i', audiences: ['a'], serviceAccount: { namespace: 'n', name: 's', uid: 'u' }, expirationSeconds: 600 }, 1e9);
      const verifier = createVerifier({ keys: loadPublicKeys(readFileSync(`${out}.pub`)), issuers: ['https://i'], now: () => 1e9 });
      assert.ok(verifier.verify(createSigner(signing).sign(claims), ['a']));
    });
  }
  test('--bits sets the RSA size', async () => {
    const out = join(dir, 'rsa3072.key');
    const r = await run(['keys', 'generate', '--type', 'rsa', '--bits', '3072', '--out', out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(loadSigningKey(readFileSync(out)).privateKey.asymmetricKeyDetails?.modulusLength, 3072);
  });
  test('refuses to overwrite, and --force overwrites', async () => {
    const out = join(dir, 'existing.key');
    writeFileSync(out, 'keep me');
    const r = await run(['keys', 'generate', '--type', 'ec', '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /already exists \(use --force to overwrite\)\n$/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    const forced = await run(['keys', 'generate', '--type', 'ec', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.equal(loadSigningKey(readFileSync(out)).kid, forced.out.trim());
    assert.equal(mode(out), 0o600);
  });
  const bad: Array<[string, string[], RegExp]> = [
    ['--bits with ec', ['--type', 'ec', '--bits', '2048'], /--bits applies to RSA keys only/],
    ['--curve with rsa', ['--type', 'rsa', '--curve', 'P-256'], /--curve applies to EC keys only/],
    ['too few bits', ['--type', 'rsa', '--bits', '1024'], /--bits must be a multiple of 8 from 2048 to 16384, got 1024/],
    ['non-numeric bits', ['--type', 'rsa', '--bits', 'lots'], /--bits must be/],
    ['an unknown curve', ['--type', 'ec', '--curve', 'P-224'], /--curve must be P-256, P-384 or P-521/],
    ['an unknown type', ['--type', 'dsa'], /argument 'dsa' is invalid/],
  ];
  for (const [name, args, pattern] of bad) {
    test(`rejects ${name}`, async () => {
      const out = join(dir, `bad-${name.replace(/\W+/g, '-')}.key`);
      const r = await run(['keys', 'generate', ...args, '--out', out]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, pattern);
      assert.throws(() => statSync(out), /ENOENT/);
    });
  }
  test('--out is required', async () => {
    const r = await run(['keys', 'generate', '--type', 'ec']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /--out/);
  });
  test('an unwritable directory is one error line', async () => {
    const r = await run(['keys', 'generate', '--type', 'ec', '--out', join(dir, 'missing-dir', 'k.key')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^boundtoken: keys generate: cannot write .*: ENOENT\n$/);
  });
});

describe('boundtoken keys kid', () => {
  test('prints kid and alg of each verification key', async () => {
    const file = join(dir, 'keys.pem');
    writeFileSync(file, v.rsaPublicKeyPem + v.ecdsaPrivateKeyPem);
    const r = await run(['keys', 'kid', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${v.rsaKeyId}  RS256\n${v.ecdsaKeyId}  ES256\n`);
  });
  test('a file without keys is one error line', async () => {
    const file = join(dir, 'nokeys.pem');
    writeFileSync(file, 'nothing here');
    const r = await run(['keys', 'kid', file]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `boundtoken: keys kid: ${file}: data does not contain any valid RSA or ECDSA public keys\n`);
  });
  test('kid of a certificate-less private key matches keyIdOf', async () => {
    const file = join(dir, 'ec.pem');
    writeFileSync(file, v.ecdsaPrivateKeyWithParamsPem);
    const r = await run(['keys', 'kid', file]);
    assert.equal(r.out.split(' ')[0], keyIdOf(loadSigningKey(v.ecdsaPrivateKeyWithParamsPem).key));
  });
});
