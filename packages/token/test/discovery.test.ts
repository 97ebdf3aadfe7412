import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DiscoveryError,
  KeyError,
  buildClaims,
  createSigner,
  createVerifier,
  discoveryJwksUri,
  generateSigningKey,
  jwksDocument,
  loadPublicKeys,
  loadSigningKey,
  openIdConfiguration,
  parseJwks,
} from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const d = v.discovery;
const keys = [...loadPublicKeys(v.rsaPublicKeyPem), ...loadPublicKeys(v.ecdsaPublicKeyPem)];

describe('documents of openidmetadata_test.go, byte for byte', () => {
  test('JWKS', () => {
    assert.equal(jwksDocument(keys), d.jwks);
  });
  test('OpenID configuration', () => {
    assert.equal(openIdConfiguration({ issuer: d.issuer, jwksUri: d.jwksUri, keys }), d.config);
  });
  test('private key files serve only their public half', () => {
    const fromPrivate = loadPublicKeys(v.rsaPrivateKeyPem + v.ecdsaPrivateKeyPem);
    assert.equal(jwksDocument(fromPrivate), d.jwks);
    assert.doesNotMatch(jwksDocument([loadSigningKey(v.rsaPrivateKeyPem)]), /"d"|"p"|"q"/);
  });
  test('P-384 and P-521 keys, padded coordinates, sorted unique algs', () => {
    const p384 = generateSigningKey({ type: 'ec', curve: 'P-384' });
    const p521 = generateSigningKey({ type: 'ec', curve: 'P-521' });
    const doc = JSON.parse(jwksDocument([p521, p384])) as { keys: Array<Record<string, string>> };
    assert.deepEqual(Object.keys(doc.keys[0]!), ['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y']);
    assert.deepEqual([doc.keys[0]!.crv, doc.keys[0]!.alg, doc.keys[1]!.crv, doc.keys[1]!.alg], ['P-521', 'ES512', 'P-384', 'ES384']);
    assert.equal(Buffer.from(doc.keys[0]!.x!, 'base64url').length, 66);
    assert.equal(Buffer.from(doc.keys[1]!.y!, 'base64url').length, 48);
    const config = JSON.parse(openIdConfiguration({ issuer: d.issuer, jwksUri: d.jwksUri, keys: [p521, ...keys, p384, ...keys] })) as Record<string, unknown>;
    assert.deepEqual(config.id_token_signing_alg_values_supported, ['ES256', 'ES384', 'ES512', 'RS256']);
  });
  test('an empty key set is an error (endpoints not installed)', () => {
    assert.throws(() => openIdConfiguration({ issuer: d.issuer, jwksUri: d.jwksUri, keys: [] }), DiscoveryError);
  });
});

describe('jwks_uri and issuer validation', () => {
  test('the JWKS URI when given', () => {
    assert.equal(discoveryJwksUri({ issuer: d.issuer, jwksUri: 'https://keys.example.com/jwks' }), 'https://keys.example.com/jwks');
  });
  test('else https://<external address>/openid/v1/jwks', () => {
    assert.equal(discoveryJwksUri({ issuer: d.issuer, jwksUri: '', externalAddress: d.externalAddress }), d.externalJwksUri);
    assert.equal(discoveryJwksUri({ issuer: d.issuer, externalAddress: '[2001:db8::1]:6443' }), 'https://[2001:db8::1]:6443/openid/v1/jwks');
  });
  const errors: Array<[string, Parameters<typeof discoveryJwksUri>[0], string]> = [
    ['an http issuer', { issuer: 'http://issuer.example.com', externalAddress: 'a' }, 'issuer URL must use https scheme, got: http://issuer.example.com'],
    ['an issuer without scheme', { issuer: 'issuer.example.com', externalAddress: 'a' }, 'issuer URL must use https scheme, got: issuer.example.com'],
    ['an issuer with a query', { issuer: 'https://issuer.example.com?a=b', externalAddress: 'a' }, 'issuer URL may not include a query, got: https://issuer.example.com?a=b'],
    ['an issuer with a fragment', { issuer: 'https://issuer.example.com#a', externalAddress: 'a' }, 'issuer URL may not include a fragment, got: https://issuer.example.com#a'],
    ['an empty issuer', { issuer: '', externalAddress: 'a' }, 'empty issuer URL'],
    ['a non-https JWKS URI', { issuer: d.issuer, jwksUri: 'http://keys.example.com/jwks' }, 'jwksURI requires https scheme, parsed as: http://keys.example.com/jwks'],
    ['an external address with a scheme', { issuer: d.issuer, externalAddress: 'https://192.0.2.1:80' }, ''],
    ['neither JWKS URI nor external address', { issuer: d.issuer }, 'either the JWKS URI or the default external address, or both, must be set'],
  ];
  for (const [name, opts, message] of errors) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => discoveryJwksUri(opts),
        (err: unknown) => err instanceof DiscoveryError && err.code === 'ERR_DISCOVERY_INVALID' && (message === '' || err.message === message),
      );
    });
  }
  test("issuers as Go's url.Parse reads them: a port WHATWG refuses, an empty query or fragment", () => {
    for (const issuer of ['https://issuer.example.com:99999', 'https://issuer.example.com?', 'https://issuer.example.com#', 'HTTPS://issuer.example.com']) {
      assert.equal(discoveryJwksUri({ issuer, externalAddress: 'a' }), 'https://a/openid/v1/jwks', issuer);
      assert.ok(openIdConfiguration({ issuer, jwksUri: d.jwksUri, keys }).startsWith(`{"issuer":${JSON.stringify(issuer)},`), issuer);
    }
  });
  const goErrors: Array<[Parameters<typeof discoveryJwksUri>[0], string]> = [
    [{ issuer: 'https://issuer.example.com??', externalAddress: 'a' }, 'issuer URL may not include a query, got: https://issuer.example.com??'],
    [{ issuer: 'https://issuer example.com', externalAddress: 'a' }, 'parse "https://issuer example.com": invalid character " " in host name'],
    [{ issuer: 'https://issuer.example.com#%zz', externalAddress: 'a' }, 'parse "https://issuer.example.com#%zz": invalid URL escape "%zz"'],
    [{ issuer: d.issuer, jwksUri: 'https://keys example.com/jwks' }, 'parse "https://keys example.com/jwks": invalid character " " in host name'],
    [{ issuer: d.issuer, jwksUri: 'HTTP://keys.example.com/jwks' }, 'jwksURI requires https scheme, parsed as: http://keys.example.com/jwks'],
  ];
  for (const [opts, message] of goErrors) {
    test(`refuses ${opts.issuer} ${opts.jwksUri ?? ''} with kube-apiserver's message`, () => {
      assert.throws(() => discoveryJwksUri(opts), (err: unknown) => err instanceof DiscoveryError && err.code === 'ERR_DISCOVERY_INVALID' && err.message === message);
    });
  }
  test('openIdConfiguration validates the issuer too', () => {
    assert.throws(() => openIdConfiguration({ issuer: 'http://x', jwksUri: d.jwksUri, keys }), DiscoveryError);
  });
});

describe('parseJwks', () => {
  test('reads the Kubernetes JWKS and verifies tokens with it', () => {
    const parsed = parseJwks(d.jwks);
    assert.deepEqual(parsed.map((k) => [k.kid, k.alg]), [[v.rsaKeyId, 'RS256'], [v.ecdsaKeyId, 'ES256']]);
    assert.equal(jwksDocument(parsed), d.jwks);
    const now = 1735689600;
    const claims = buildClaims({ issuer: d.issuer, audiences: ['a'], serviceAccount: { namespace: 'n', name: 's', uid: 'u' }, expirationSeconds: 600 }, now);
    const verifier = createVerifier({ keys: parsed, issuers: [d.issuer], now: () => now });
    for (const pem of [v.rsaPrivateKeyPem, v.ecdsaPrivateKeyPem]) {
      assert.ok(verifier.verify(createSigner(loadSigningKey(pem)).sign(claims), ['a']));
    }
  });
  test('accepts a parsed object', () => {
    assert.equal(parseJwks(JSON.parse(d.jwks) as object).length, 2);
  });
  test('skips keys it cannot use', () => {
    const doc = JSON.parse(d.jwks) as { keys: unknown[] };
    doc.keys.unshift({ kty: 'oct', k: 'c2VjcmV0' }, { kty: 'RSA', use: 'enc', n: 'AQAB', e: 'AQAB' }, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, null, 'key');
    assert.deepEqual(parseJwks(doc).map((k) => k.kid), [v.rsaKeyId, v.ecdsaKeyId]);
  });
  for (const [name, input] of [
    ['invalid JSON', '{"keys":'],
    ['no keys array', '{"keys":{}}'],
    ['not an object', '[]'],
  ] as const) {
    test(`rejects ${name}`, () => assert.throws(() => parseJwks(input), (err: unknown) => err instanceof KeyError && err.code === 'ERR_KEY_INVALID_JWK'));
  }
});
