import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LEGACY_ISSUER,
  TokenError,
  buildLegacyClaims,
  createLegacyVerifier,
  createSigner,
  createVerifier,
  loadPublicKeys,
  loadSigningKey,
  peekIssuer,
  serializeClaims,
  splitServiceAccountUsername,
  type TokenErrorCode,
} from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const API = 'https://kubernetes.default.svc';
const rsa = loadSigningKey(v.rsaPrivateKeyPem);
const keys = loadPublicKeys(v.rsaPublicKeyPem + v.ecdsaPublicKeyPem);
const legacyClaims = buildLegacyClaims({ serviceAccount: { namespace: 'test', name: 'my-service-account', uid: '12345' }, secretName: 'my-rsa-secret' });
const sign = (claims: object): string => createSigner(rsa).sign(claims);
const verifier = createLegacyVerifier({ keys, defaultAudiences: [API] });

function assertCode(fn: () => unknown, code: TokenErrorCode, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TokenError, String(err));
    assert.equal(err.code, code);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe('legacy (secret-based) tokens', () => {
  test('claims are flat, issuer kubernetes/serviceaccount, no aud/exp/iat/jti', () => {
    assert.equal(
      serializeClaims(legacyClaims),
      '{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"test",' +
        '"kubernetes.io/serviceaccount/secret.name":"my-rsa-secret",' +
        '"kubernetes.io/serviceaccount/service-account.name":"my-service-account",' +
        '"kubernetes.io/serviceaccount/service-account.uid":"12345","sub":"system:serviceaccount:test:my-service-account"}',
    );
  });
  test('verify returns the service account and the secret name for the server to look up', () => {
    const token = sign(legacyClaims);
    assert.equal(peekIssuer(token), LEGACY_ISSUER);
    const r = verifier.verify(token);
    assert.deepEqual(r.serviceAccount, { namespace: 'test', name: 'my-service-account', uid: '12345' });
    assert.equal(r.secretName, 'my-rsa-secret');
    assert.deepEqual(r.audiences, [API]);
  });
  test('no time checks (legacy tokens never expire)', () => {
    assert.ok(verifier.verify(sign({ ...legacyClaims, exp: 1 })));
  });
  test('only the API audiences', () => {
    assertCode(() => verifier.verify(sign(legacyClaims), ['vault']), 'ERR_TOKEN_AUDIENCE_INVALID', `token audiences ["${API}"] is invalid for the target audiences ["vault"]`);
  });
  test('the bound-token verifier does not accept the legacy issuer unless configured', () => {
    const bound = createVerifier({ keys, issuers: [API], defaultAudiences: [API] });
    assertCode(() => bound.verify(sign(legacyClaims)), 'ERR_TOKEN_ISSUER_INVALID', 'token issuer "kubernetes/serviceaccount" is invalid');
  });
  const N = 'kubernetes.io/serviceaccount/namespace';
  const S = 'kubernetes.io/serviceaccount/secret.name';
  const SN = 'kubernetes.io/serviceaccount/service-account.name';
  const SU = 'kubernetes.io/serviceaccount/service-account.uid';
  const rejected: Array<[string, object, TokenErrorCode, string]> = [
    ['a bound-token issuer', { iss: API }, 'ERR_TOKEN_ISSUER_INVALID', `token issuer "${API}" is invalid`],
    ['no sub', { sub: undefined }, 'ERR_TOKEN_CLAIMS_INVALID', 'sub claim is missing'],
    ['no namespace', { [N]: '' }, 'ERR_TOKEN_CLAIMS_INVALID', 'namespace claim is missing'],
    ['no secret name', { [S]: undefined }, 'ERR_TOKEN_CLAIMS_INVALID', 'secretName claim is missing'],
    ['no service account name', { [SN]: undefined }, 'ERR_TOKEN_CLAIMS_INVALID', 'serviceAccountName claim is missing'],
    ['no service account uid', { [SU]: '' }, 'ERR_TOKEN_CLAIMS_INVALID', 'serviceAccountUID claim is missing'],
    ['sub for another service account', { sub: 'system:serviceaccount:test:other' }, 'ERR_TOKEN_CLAIMS_INVALID', 'sub claim is invalid'],
    ['sub in another namespace', { sub: 'system:serviceaccount:other:my-service-account' }, 'ERR_TOKEN_CLAIMS_INVALID', 'sub claim is invalid'],
    ['sub that is not a service account', { sub: 'admin' }, 'ERR_TOKEN_CLAIMS_INVALID', 'sub claim is invalid'],
    ['a claim of the wrong type', { [SU]: 12345 }, 'ERR_TOKEN_CLAIMS_INVALID', `${SU} claim must be a string`],
  ];
  for (const [name, over, code, message] of rejected) {
    test(`rejects ${name}`, () => assertCode(() => verifier.verify(sign({ ...legacyClaims, ...over })), code, message));
  }
  test('a forged signature is rejected before the claims are looked at', () => {
    const token = sign({ ...legacyClaims, sub: undefined });
    assertCode(() => verifier.verify(`${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(256).toString('base64url')}`), 'ERR_TOKEN_SIGNATURE_INVALID');
  });
  test('the API audiences are required', () => {
    assert.throws(() => createLegacyVerifier({ keys, defaultAudiences: [] }), TypeError);
  });
});

describe('splitServiceAccountUsername', () => {
  const cases: Array<[string, { namespace: string; name: string } | undefined]> = [
    ['system:serviceaccount:ns:name', { namespace: 'ns', name: 'name' }],
    ['system:serviceaccount:ns:a.b-c', { namespace: 'ns', name: 'a.b-c' }],
    ['test', undefined],
    ['system:serviceaccount', undefined],
    ['system:serviceaccount:', undefined],
    ['system:serviceaccount:ns', undefined],
    ['system:serviceaccount:ns:name:extra', undefined],
    ['system:serviceaccount:NS:name', undefined],
    ['system:serviceaccount:n.s:name', undefined],
  ];
  for (const [username, expected] of cases) {
    test(username, () => assert.deepEqual(splitServiceAccountUsername(username), expected));
  }
});
