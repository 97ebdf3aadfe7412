/**
 * Flag validation as kube-apiserver does it (reference/k8s-server.md §8): issuers and the JWKS URI
 * through Go's url.Parse, durations through Go's time.ParseDuration, and their exact messages.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationSeconds, resolveServerOptions, type ServerFlags } from '../src/index.js';

const resolve = (flags: ServerFlags) => resolveServerOptions(flags).serviceAccount;
const FLAG = 'service-account-max-token-expiration';

describe('Go durations (time.ParseDuration)', () => {
  test('units, fractions, sums and signs', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['-0', 0],
      ['1h', 3600],
      ['90m', 5400],
      ['1h30m', 5400],
      ['1.5h', 5400],
      ['3600s', 3600],
      ['3600000ms', 3600],
      ['3600000000us', 3600],
      ['3600000000\u00b5s', 3600],
      ['3600000000000ns', 3600],
      ['.5s', 0.5],
      ['1.s', 1],
      ['+2h', 7200],
      ['-1h', -3600],
      ['1h0.5s', 3600.5],
    ];
    for (const [text, seconds] of cases) assert.equal(parseDurationSeconds(text, FLAG), seconds, text);
  });

  test('pflag\'s messages for what Go refuses', () => {
    const cases: [string, string][] = [
      ['7200', 'time: missing unit in duration "7200"'],
      ['1h30', 'time: missing unit in duration "1h30"'],
      ['2d', 'time: unknown unit "d" in duration "2d"'],
      ['1 h', 'time: unknown unit " h" in duration "1 h"'],
      ['', 'time: invalid duration ""'],
      ['-', 'time: invalid duration "-"'],
      ['.h', 'time: invalid duration ".h"'],
      ['h', 'time: invalid duration "h"'],
      ['3000000h', 'time: invalid duration "3000000h"'],
    ];
    for (const [text, why] of cases) {
      assert.throws(() => parseDurationSeconds(text, FLAG), { name: 'OptionsError', message: `invalid argument ${JSON.stringify(text)} for "--${FLAG}" flag: ${why}` }, text);
    }
  });

  test('the cap must be 0 or between 1 hour and 2^32 seconds; it is whole seconds', () => {
    assert.equal(resolve({ serviceAccountMaxTokenExpiration: '0' }).maxTokenExpirationSeconds, 0);
    assert.equal(resolve({ serviceAccountMaxTokenExpiration: '1h' }).maxTokenExpirationSeconds, 3600);
    assert.equal(resolve({ serviceAccountMaxTokenExpiration: '1h0.9s' }).maxTokenExpirationSeconds, 3600);
    assert.equal(resolve({ serviceAccountMaxTokenExpiration: '4294967296s' }).maxTokenExpirationSeconds, 2 ** 32);
    for (const text of ['59m59s', '-1h', '4294967297s', '0.5s']) {
      assert.throws(() => resolve({ serviceAccountMaxTokenExpiration: text }), { message: 'the service-account-max-token-expiration must be between 1 hour and 2^32 seconds' }, text);
    }
  });
});

describe('issuers and the JWKS URI (url.Parse)', () => {
  test('what Go accepts, WHATWG or not', () => {
    assert.deepEqual(resolve({ serviceAccountIssuer: ['https://a.example.com:99999', 'kubernetes.default.svc', 'spiffe://cluster.local'] }).issuers, [
      'https://a.example.com:99999',
      'kubernetes.default.svc',
      'spiffe://cluster.local',
    ]);
  });

  test('what Go refuses, with its reason', () => {
    const cases: [string, string][] = [
      ['https://a.com ', 'parse "https://a.com ": invalid character " " in host name'],
      [' https://a.com', 'parse " https://a.com": first path segment in URL cannot contain colon'],
      ['https://a.com:x', 'parse "https://a.com:x": invalid port ":x" after host'],
      ['https://[::1', `parse "https://[::1": missing ']' in host`],
      [':8443', 'parse ":8443": missing protocol scheme'],
      ['https://a.com/%zz', 'parse "https://a.com/%zz": invalid URL escape "%zz"'],
      ['https://a.com/\n', 'parse "https://a.com/\\n": net/url: invalid control character in URL'],
    ];
    for (const [issuer, reason] of cases) {
      assert.throws(
        () => resolve({ serviceAccountIssuer: [issuer] }),
        { name: 'OptionsError', message: `service-account-issuer ${JSON.stringify(issuer)} contained a ':' but was not a valid URL: ${reason}` },
        issuer,
      );
    }
  });

  test('empty and repeated issuers', () => {
    assert.throws(() => resolve({ serviceAccountIssuer: [''] }), { message: 'service-account-issuer should not be an empty string' });
    assert.throws(() => resolve({ serviceAccountIssuer: ['https://a', 'https://a'] }), { message: 'service-account-issuer "https://a" is already specified' });
  });

  test('the JWKS URI must parse and be https', () => {
    assert.equal(resolve({ serviceAccountJwksUri: 'https://keys.example.com/jwks' }).jwksUri, 'https://keys.example.com/jwks');
    assert.throws(() => resolve({ serviceAccountJwksUri: 'foo' }), { message: 'service-account-jwks-uri requires https scheme, parsed as: foo' });
    assert.throws(() => resolve({ serviceAccountJwksUri: 'HTTP://a.com/jwks' }), { message: 'service-account-jwks-uri requires https scheme, parsed as: http://a.com/jwks' });
    assert.throws(() => resolve({ serviceAccountJwksUri: 'https://a b/' }), { message: 'service-account-jwks-uri must be a valid URL: parse "https://a b/": invalid character " " in host name' });
  });
});

describe('API audiences', () => {
  test('default to the issuers; a list is taken as given', () => {
    assert.deepEqual(resolve({ apiAudiences: ['a', 'b'] }).apiAudiences, ['a', 'b']);
    assert.deepEqual(resolve({}).apiAudiences, []);
  });
});
