import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyError,
  generateSigningKey,
  keyIdOf,
  loadPublicKeys,
  loadSigningKey,
  publicKeyFromJwk,
  type KeyErrorCode,
} from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

// Other encodings of the Kubernetes test keys, derived here so the expected kid is known.
const rsaPrivate = createPrivateKey(v.rsaPrivateKeyPem);
const ecPrivate = createPrivateKey(v.ecdsaPrivateKeyPem);
const rsaPkcs8 = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }) as string;
const ecPkcs8 = ecPrivate.export({ type: 'pkcs8', format: 'pem' }) as string;
const rsaPkcs1Public = createPublicKey(rsaPrivate).export({ type: 'pkcs1', format: 'pem' }) as string;
const certKid = (pem: string): string => keyIdOf(new X509Certificate(pem).publicKey);

const NO_PRIVATE = 'data does not contain a valid RSA or ECDSA private key';
const NO_PUBLIC = 'data does not contain any valid RSA or ECDSA public keys';

function assertKeyError(fn: () => unknown, code: KeyErrorCode, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyError, `expected KeyError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe('keyIdOf', () => {
  test('reproduces both kid vectors of jwt_test.go', () => {
    assert.equal(keyIdOf(createPublicKey(v.rsaPublicKeyPem)), v.rsaKeyId);
    assert.equal(keyIdOf(createPublicKey(v.ecdsaPublicKeyPem)), v.ecdsaKeyId);
  });
  test('a private KeyObject gives the kid of its public half', () => {
    assert.equal(keyIdOf(rsaPrivate), v.rsaKeyId);
    assert.equal(keyIdOf(ecPrivate), v.ecdsaKeyId);
  });
  test('a compressed EC point hashes as the uncompressed SPKI Go marshals', () => {
    const compressed = createPublicKey(fixture('ec-p384-compressed-pub.pem'));
    const uncompressed = createPublicKey(fixture('ec-p384-pub.pem'));
    assert.equal(keyIdOf(compressed), keyIdOf(uncompressed));
  });
});

describe('loadSigningKey (keyutil.ParsePrivateKeyPEM + the signer checks)', () => {
  const ok: Array<[string, string | Buffer, string, string]> = [
    ['RSA PKCS#1 (Kubernetes test key)', v.rsaPrivateKeyPem, 'RS256', v.rsaKeyId],
    ['EC SEC1 P-256 (Kubernetes test key)', v.ecdsaPrivateKeyPem, 'ES256', v.ecdsaKeyId],
    ['EC PARAMETERS block before the key', v.ecdsaPrivateKeyWithParamsPem, 'ES256', keyIdOf(createPrivateKey(v.ecdsaPrivateKeyWithParamsPem))],
    ['RSA PKCS#8', rsaPkcs8, 'RS256', v.rsaKeyId],
    ['EC PKCS#8', ecPkcs8, 'ES256', v.ecdsaKeyId],
    ['EC SEC1 P-384', fixture('ec-p384-sec1.pem'), 'ES384', keyIdOf(createPrivateKey(fixture('ec-p384-sec1.pem')))],
    ['a Buffer', Buffer.from(v.rsaPrivateKeyPem), 'RS256', v.rsaKeyId],
    ['CRLF line endings', v.ecdsaPrivateKeyPem.replace(/\n/g, '\r\n'), 'ES256', v.ecdsaKeyId],
    ['text around the block', `# signing key\n${v.ecdsaPrivateKeyPem}\ntrailing text\n`, 'ES256', v.ecdsaKeyId],
    ['the first private block wins (certificate and public key skipped)', fixture('rsa-cert.pem') + v.ecdsaPublicKeyPem + v.ecdsaPrivateKeyPem + v.rsaPrivateKeyPem, 'ES256', v.ecdsaKeyId],
    ['an unparsable private block is skipped', v.rsaPrivateKeyPem.replace('MIIEowIBAAKCAQEA', 'MIIEowIBAAKCAQEB') + v.ecdsaPrivateKeyPem, 'ES256', v.ecdsaKeyId],
  ];
  for (const [name, pem, alg, kid] of ok) {
    test(`loads ${name}`, () => {
      const key = loadSigningKey(pem);
      assert.equal(key.alg, alg);
      assert.equal(key.kid, kid);
      assert.equal(key.privateKey.type, 'private');
      assert.equal(key.key.type, 'public');
      assert.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.equal(keyIdOf(createPrivateKey(key.privateKeyPem)), kid);
    });
  }

  test('derives the EC public key from the private scalar, ignoring a mismatched embedded one (as Go does)', () => {
    const own = ecPrivate.export({ type: 'sec1', format: 'der' });
    const foreign = createPrivateKey(v.ecdsaPrivateKeyWithParamsPem).export({ type: 'sec1', format: 'der' });
    const mixed = Buffer.concat([own.subarray(0, own.length - 65), foreign.subarray(foreign.length - 65)]);
    assert.notDeepEqual(mixed, own);
    const pem = `-----BEGIN EC PRIVATE KEY-----\n${mixed.toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
    assert.equal(loadSigningKey(pem).kid, v.ecdsaKeyId);
    assert.deepEqual(loadPublicKeys(pem).map((k) => k.kid), [v.ecdsaKeyId]);
  });

  test('loads a P-521 key as ES512', () => {
    const generated = generateSigningKey({ type: 'ec', curve: 'P-521' });
    const key = loadSigningKey(createPrivateKey(generated.privateKeyPem).export({ type: 'sec1', format: 'pem' }));
    assert.equal(key.alg, 'ES512');
    assert.equal(key.kid, generated.kid);
  });

  const rejected: Array<[string, string, KeyErrorCode, string]> = [
    ['an empty file', '', 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['text without PEM', 'not a key', 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['only public keys', v.rsaPublicKeyPem + v.ecdsaPublicKeyPem, 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['only a certificate', fixture('rsa-cert.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['an EC key labelled RSA PRIVATE KEY', v.ecdsaPrivateKeyPem.replace(/EC PRIVATE KEY/g, 'RSA PRIVATE KEY'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['a PKCS#8 key labelled EC PRIVATE KEY', ecPkcs8.replace(/PRIVATE KEY/g, 'EC PRIVATE KEY'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['a private key under another label', v.rsaPrivateKeyPem.replace(/RSA PRIVATE KEY/g, 'SECRET'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['a block with mismatched END line', v.rsaPrivateKeyPem.replace('END RSA PRIVATE KEY', 'END EC PRIVATE KEY'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['base64 without padding', v.ecdsaPrivateKeyPem.replace('Vg==', 'Vg'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['an encrypted PKCS#1 key', fixture('rsa-encrypted-pkcs1.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['an encrypted PKCS#8 key', fixture('rsa-encrypted-pkcs8.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['secp256k1 (Go cannot parse the curve)', fixture('ec-secp256k1-sec1.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['RSA-PSS PKCS#8 (Go cannot parse it)', fixture('rsa-pss-pkcs8.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['DSA PKCS#8', fixture('dsa-pkcs8.pem'), 'ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE],
    ['P-224 (parsed, but no signing algorithm)', fixture('ec-p224-sec1.pem'), 'ERR_KEY_UNSUPPORTED', 'unknown private key curve, must be 256, 384, or 521'],
    [
      'Ed25519 PKCS#8',
      fixture('ed25519-pkcs8.pem'),
      'ERR_KEY_UNSUPPORTED',
      'unknown private key type ed25519.PrivateKey, must be *rsa.PrivateKey, *ecdsa.PrivateKey, or jose.OpaqueSigner',
    ],
    [
      'X25519 PKCS#8',
      fixture('x25519-pkcs8.pem'),
      'ERR_KEY_UNSUPPORTED',
      'unknown private key type *ecdh.PrivateKey, must be *rsa.PrivateKey, *ecdsa.PrivateKey, or jose.OpaqueSigner',
    ],
  ];
  for (const [name, pem, code, message] of rejected) {
    test(`rejects ${name}`, () => assertKeyError(() => loadSigningKey(pem), code, message));
  }

  test('caller misuse is a TypeError', () => {
    assert.throws(() => loadSigningKey(42 as unknown as string), TypeError);
  });
});

describe('loadPublicKeys (keyutil.ParsePublicKeysPEM)', () => {
  const ok: Array<[string, string, Array<[string, string]>]> = [
    ['RSA PKIX public key', v.rsaPublicKeyPem, [['RS256', v.rsaKeyId]]],
    ['EC PKIX public key', v.ecdsaPublicKeyPem, [['ES256', v.ecdsaKeyId]]],
    ['both, in file order', v.rsaPublicKeyPem + '\n' + v.ecdsaPublicKeyPem, [['RS256', v.rsaKeyId], ['ES256', v.ecdsaKeyId]]],
    ['RSA PKCS#1 private key (public half)', v.rsaPrivateKeyPem, [['RS256', v.rsaKeyId]]],
    ['RSA PKCS#8 private key (public half)', rsaPkcs8, [['RS256', v.rsaKeyId]]],
    ['EC SEC1 private key (public half)', v.ecdsaPrivateKeyPem, [['ES256', v.ecdsaKeyId]]],
    ['EC PARAMETERS block skipped', v.ecdsaPrivateKeyWithParamsPem, [['ES256', keyIdOf(createPrivateKey(v.ecdsaPrivateKeyWithParamsPem))]]],
    ['RSA certificate', fixture('rsa-cert.pem'), [['RS256', certKid(fixture('rsa-cert.pem'))]]],
    ['EC certificate', fixture('ec-p256-cert.pem'), [['ES256', certKid(fixture('ec-p256-cert.pem'))]]],
    ['EC P-384 public key', fixture('ec-p384-pub.pem'), [['ES384', keyIdOf(createPublicKey(fixture('ec-p384-pub.pem')))]]],
    ['any label (keyutil ignores labels)', v.rsaPublicKeyPem.replace(/PUBLIC KEY/g, 'WHATEVER'), [['RS256', v.rsaKeyId]]],
    [
      'unusable blocks skipped among usable ones',
      fixture('ed25519-pub.pem') + v.rsaPublicKeyPem + ecPkcs8 + rsaPkcs1Public + v.ecdsaPrivateKeyPem,
      [['RS256', v.rsaKeyId], ['ES256', v.ecdsaKeyId]],
    ],
  ];
  for (const [name, pem, expected] of ok) {
    test(`loads ${name}`, () => {
      const keys = loadPublicKeys(pem);
      assert.deepEqual(
        keys.map((k) => [k.alg, k.kid]),
        expected,
      );
      for (const k of keys) assert.equal(k.key.type, 'public');
    });
  }

  const rejected: Array<[string, string]> = [
    ['an empty file', ''],
    ['a PKCS#8 EC private key (not a verification key for keyutil)', ecPkcs8],
    ['a PKCS#1 RSA PUBLIC KEY', rsaPkcs1Public],
    ['an Ed25519 public key', fixture('ed25519-pub.pem')],
    ['an Ed25519 private key', fixture('ed25519-pkcs8.pem')],
    ['an RSA-PSS public key', fixture('rsa-pss-pub.pem')],
    ['a DSA public key', fixture('dsa-pub.pem')],
    ['a compressed EC point (Go rejects it)', fixture('ec-p384-compressed-pub.pem')],
    ['a P-224 key (cannot verify Kubernetes tokens)', fixture('ec-p224-sec1.pem')],
    ['a secp256k1 key', fixture('ec-secp256k1-sec1.pem')],
    ['an encrypted key', fixture('rsa-encrypted-pkcs8.pem')],
    ['a truncated block', v.rsaPublicKeyPem.slice(0, 200)],
  ];
  for (const [name, pem] of rejected) {
    test(`rejects ${name}`, () => assertKeyError(() => loadPublicKeys(pem), 'ERR_KEY_NO_PUBLIC_KEYS', NO_PUBLIC));
  }
});

describe('publicKeyFromJwk', () => {
  const jwks = JSON.parse(v.discovery.jwks) as { keys: Array<Record<string, string>> };
  test('imports the JWKS vector keys with their kids', () => {
    const [rsa, ec] = jwks.keys.map((k) => publicKeyFromJwk(k));
    assert.equal(rsa!.kid, v.rsaKeyId);
    assert.equal(rsa!.alg, 'RS256');
    assert.equal(keyIdOf(rsa!.key), v.rsaKeyId);
    assert.equal(ec!.kid, v.ecdsaKeyId);
    assert.equal(ec!.alg, 'ES256');
  });
  test('without a kid the Kubernetes kid is computed', () => {
    const { kid: _kid, ...rest } = jwks.keys[1]!;
    assert.equal(publicKeyFromJwk(rest).kid, v.ecdsaKeyId);
  });
  test('keeps a kid that is not the computed one', () => {
    assert.equal(publicKeyFromJwk({ ...jwks.keys[0]!, kid: 'key-2024' }).kid, 'key-2024');
  });
  test('uses only the public members of a private JWK', () => {
    const jwk = ecPrivate.export({ format: 'jwk' });
    const key = publicKeyFromJwk(jwk);
    assert.equal(key.key.type, 'public');
    assert.equal(key.kid, v.ecdsaKeyId);
  });
  const bad: Array<[string, Record<string, unknown>]> = [
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
    ['an OKP key', { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }],
    ['use "enc"', { ...jwks.keys[0]!, use: 'enc' }],
    ['an alg that does not fit the key', { ...jwks.keys[1]!, alg: 'ES384' }],
    ['an HMAC alg on an RSA key', { ...jwks.keys[0]!, alg: 'HS256' }],
    ['a short EC coordinate', { ...jwks.keys[1]!, x: 'AAAA' }],
    ['an unknown curve', { ...jwks.keys[1]!, crv: 'secp256k1' }],
    ['a point not on the curve', { ...jwks.keys[1]!, y: jwks.keys[1]!.x }],
    ['a non-base64url modulus', { ...jwks.keys[0]!, n: 'not base64!' }],
    ['an empty kid', { ...jwks.keys[0]!, kid: '' }],
  ];
  for (const [name, jwk] of bad) {
    test(`rejects ${name}`, () => assertKeyError(() => publicKeyFromJwk(jwk), 'ERR_KEY_INVALID_JWK'));
  }
});

describe('generateSigningKey', () => {
  test('RSA, 2048 bits by default, signs RS256', () => {
    const key = generateSigningKey({ type: 'rsa' });
    assert.equal(key.alg, 'RS256');
    assert.equal(key.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(key.kid, keyIdOf(key.key));
    assert.equal(loadSigningKey(key.privateKeyPem).kid, key.kid);
  });
  for (const [curve, alg] of [
    ['P-256', 'ES256'],
    ['P-384', 'ES384'],
    ['P-521', 'ES512'],
  ] as const) {
    test(`EC ${curve} signs ${alg}`, () => {
      const key = generateSigningKey({ type: 'ec', curve });
      assert.equal(key.alg, alg);
      assert.equal(loadSigningKey(key.privateKeyPem).kid, key.kid);
    });
  }
  test('caller misuse is a TypeError', () => {
    assert.throws(() => generateSigningKey({ type: 'rsa', bits: 1024 }), TypeError);
    assert.throws(() => generateSigningKey({ type: 'rsa', bits: 2049 }), TypeError);
    assert.throws(() => generateSigningKey({ type: 'ec', curve: 'P-224' as 'P-256' }), TypeError);
    assert.throws(() => generateSigningKey({ type: 'dsa' } as unknown as { type: 'rsa' }), TypeError);
  });
});
