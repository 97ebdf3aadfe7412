import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_TOKEN_BYTES, TokenError, createSigner, decodeToken, loadSigningKey, peekIssuer, type TokenErrorCode } from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const b64 = (s: string): string => Buffer.from(s).toString('base64url');
const key = loadSigningKey(v.ecdsaPrivateKeyPem);
const claims = { iss: 'https://issuer.example.com', sub: 'system:serviceaccount:ns:sa', exp: 2000000000 };
const token = createSigner(key).sign(claims);
const [h, p, s] = token.split('.') as [string, string, string];

function assertCode(fn: () => unknown, code: TokenErrorCode): void {
  assert.throws(fn, (err: unknown) => err instanceof TokenError && err.code === code);
}

describe('decodeToken', () => {
  test('decodes header, payload, signature and signing input without verifying', () => {
    const d = decodeToken(token);
    assert.deepEqual(d.header, { alg: 'ES256', kid: v.ecdsaKeyId });
    assert.deepEqual(d.payload, claims);
    assert.equal(d.signature.length, 64);
    assert.equal(d.signingInput, `${h}.${p}`);
  });
  test('an empty signature decodes to an empty buffer', () => {
    assert.equal(decodeToken(`${h}.${p}.`).signature.length, 0);
  });
  const malformed: Array<[string, string]> = [
    ['no dots', 'abc'],
    ['two parts', `${h}.${p}`],
    ['four parts', `${token}.x`],
    ['empty header', `.${p}.${s}`],
    ['empty payload', `${h}..${s}`],
    ['padding', `${h}.${p}.${s}==`],
    ['standard alphabet', `${h}.${p.replace(/-/g, '+').replace(/_/g, '/')}x+/.${s}`],
    ['non-canonical trailing bits', `${h}.${b64('{"a":1}').slice(0, -1)}B.${s}`],
    ['a length that is 1 mod 4', `${h}.${'A'.repeat(13)}.${s}`],
    ['whitespace', `${h}.${p} .${s}`],
    ['non-ASCII', `${h}.${p}é.${s}`],
    ['a character whose low byte is base64url (U+0141 reads as A)', `${h}.${p.slice(0, 4)}Ł${p.slice(5)}.${s}`],
    ['header not JSON', `${b64('{alg')}.${p}.${s}`],
    ['header without alg', `${b64('{"kid":"x"}')}.${p}.${s}`],
    ['header kid not a string', `${b64('{"alg":"ES256","kid":1}')}.${p}.${s}`],
    ['header crit', `${b64('{"alg":"ES256","crit":["b64"],"b64":false}')}.${p}.${s}`],
    ['payload not JSON', `${h}.${b64('{"iss":')}.${s}`],
    ['payload array', `${h}.${b64('[]')}.${s}`],
    ['payload number', `${h}.${b64('42')}.${s}`],
  ];
  for (const [name, t] of malformed) {
    test(`rejects ${name} as ERR_TOKEN_MALFORMED`, () => assertCode(() => decodeToken(t), 'ERR_TOKEN_MALFORMED'));
  }
  test('the size limit is checked first (default 64 KiB)', () => {
    assert.equal(DEFAULT_MAX_TOKEN_BYTES, 65536);
    assertCode(() => decodeToken('x'.repeat(65537)), 'ERR_TOKEN_TOO_LARGE');
    assertCode(() => decodeToken(token, { maxBytes: token.length - 1 }), 'ERR_TOKEN_TOO_LARGE');
    assert.ok(decodeToken(token, { maxBytes: token.length }));
  });
  test('a non-string is caller misuse', () => {
    assert.throws(() => decodeToken(42 as unknown as string), TypeError);
  });
});

describe('peekIssuer (Kubernetes hasCorrectIssuer, unverified)', () => {
  const withPayload = (payload: string): string => `${h}.${payload}.${s}`;
  const cases: Array<[string, string, string | undefined]> = [
    ['a signed token', token, 'https://issuer.example.com'],
    ['an unsigned token (signature not looked at)', `${h}.${p}.`, 'https://issuer.example.com'],
    ['the legacy issuer', withPayload(b64('{"iss":"kubernetes/serviceaccount"}')), 'kubernetes/serviceaccount'],
    ['a JSON document', JSON.stringify(claims), undefined],
    ['a JSON document with leading spaces', `  {"iss":"x"}.a.b`, undefined],
    ['two parts', `${h}.${p}`, undefined],
    ['four parts', `${token}.x`, undefined],
    ['a padded payload', withPayload(Buffer.from(JSON.stringify(claims)).toString('base64')), undefined],
    ['a payload that is not JSON', withPayload(b64('iss')), undefined],
    ['a payload that is an array', withPayload(b64('["iss"]')), undefined],
    ['no iss', withPayload(b64('{"sub":"x"}')), undefined],
    ['iss not a string', withPayload(b64('{"iss":1}')), undefined],
    ['a bearer token that is not a JWT', 'abcdef.0123456789abcdef', undefined],
  ];
  for (const [name, t, expected] of cases) {
    test(name, () => assert.equal(peekIssuer(t), expected));
  }
  test('a non-string is "not mine"', () => {
    assert.equal(peekIssuer(undefined as unknown as string), undefined);
  });
});

describe('strict base64url', () => {
  // decodePart avoids re-encoding for speed; it must accept exactly what re-encodes to itself.
  test('agrees with "decodes and re-encodes to the same text" on random near-base64url strings', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // includes characters whose low byte is in the alphabet ('Ł' is U+0141, low byte 'A')
    const odd = ['=', '+', '/', ' ', '\n', '\r', '\t', '!', 'é', '\u2028', '\ud800', '\0', '%', '\uffff', 'Ł', '\u4141', '\u012d', '\u015f', '\u0130'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    for (let t = 0; t < 20000; t++) {
      let s = '';
      for (let i = rand(24); i > 0; i--) s += rand(100) < 6 ? odd[rand(odd.length)] : alphabet[rand(64)];
      const reference = Buffer.from(s, 'base64url').toString('base64url') === s;
      let ours: boolean;
      try {
        decodeToken(`${b64('{"alg":"ES256"}')}.${b64('{}')}.${s}`);
        ours = true;
      } catch (err) {
        assert.equal((err as TokenError).code, 'ERR_TOKEN_MALFORMED');
        ours = false;
      }
      assert.equal(ours, reference, JSON.stringify(s));
      if (ours) accepted++;
    }
    assert.ok(accepted > 1000 && accepted < 19000, `accepted ${accepted}`);
  });
});
