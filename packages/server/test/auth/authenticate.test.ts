/**
 * The authentication chain's rules, without a server: the bearer token of an `Authorization`
 * header as bearertoken.go reads it (shared with TokenReview), the authenticated-group adder, and
 * the groups of an impersonated user.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, impersonate, INVALID_TOKEN_WITH_SPACE_WARNING, RequestAuthenticator } from '../../src/auth/authenticate.js';
import type { Authorizer, UserInfo } from '../../src/auth/types.js';

describe('bearerToken: an Authorization header as bearertoken.go reads it', () => {
  // [what, header value, token (undefined: not a bearer token), warned]
  const cases: Array<[string, string | undefined, string | undefined, boolean]> = [
    ['no header', undefined, undefined, false],
    ['an empty header', '', undefined, false],
    ['a bearer token', 'Bearer tok', 'tok', false],
    ['the scheme in any case', 'bEARER tok', 'tok', false],
    ['white space around the value', ' \t\r\nBearer tok\n\v\f ', 'tok', false],
    ['something after the token (SplitN into 3: the second part is the token)', 'Bearer tok extra more', 'tok', false],
    ['two spaces before the token: ignored, with a warning', 'Bearer  tok', undefined, true],
    ['three spaces before the token', 'Bearer   tok', undefined, true],
    ['a tab before the token: part of it', 'Bearer \ttok', '\ttok', false],
    ['a tab instead of the space: no bearer token', 'Bearer\ttok', undefined, false],
    ['the scheme alone', 'Bearer', undefined, false],
    ['the scheme and spaces (trimmed to the scheme)', 'Bearer   ', undefined, false],
    ['another scheme', 'Basic YWRtaW46YWRtaW4=', undefined, false],
    ['no space after the scheme', 'Bearertok', undefined, false],
    ['a longer scheme', 'Bearers tok', undefined, false],
    ['Unicode white space is trimmed as Go trims it', '\u3000Bearer tok\u2029\u0085\u00a0', 'tok', false],
    ['a byte order mark is not white space in Go', '\ufeffBearer tok', undefined, false],
  ];
  for (const [what, header, token, warned] of cases) {
    test(what, () => {
      const warnings: string[] = [];
      assert.equal(bearerToken(header, warnings), token);
      assert.deepEqual(warnings, warned ? [INVALID_TOKEN_WITH_SPACE_WARNING] : []);
    });
  }

  test('the warning is Kubernetes\' (invalidTokenWithSpaceWarning)', () => {
    assert.equal(INVALID_TOKEN_WITH_SPACE_WARNING, 'the provided Authorization header contains extra space before the bearer token, and is ignored');
  });

  test('a request header (one Latin-1 character per byte): UTF-8 encoded white space is trimmed, a lone byte is not', () => {
    const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    assert.equal(bearerToken(utf8('Bearer tok\u00a0'), [], true), 'tok');
    assert.equal(bearerToken(utf8('\u3000Bearer tok\u2028\u0085'), [], true), 'tok');
    // 0xA0 or 0x85 alone is not valid UTF-8, so not white space; an overlong NBSP neither
    assert.equal(bearerToken('Bearer tok\u00a0', [], true), 'tok\u00a0');
    assert.equal(bearerToken('\u0085Bearer tok', [], true), undefined);
    assert.equal(bearerToken('Bearer tok\u00e0\u0082\u00a0', [], true), 'tok\u00e0\u0082\u00a0');
    // a token with non-ASCII bytes stays as sent
    assert.equal(bearerToken(utf8('Bearer tök'), [], true), utf8('tök'));
  });
});

const user = (name: string, groups: string[]): UserInfo => ({ name, uid: '', groups, extra: {} });

describe('the authenticated-group adder (group/authenticated_group_adder.go)', () => {
  const authenticatorFor = (u: UserInfo): RequestAuthenticator =>
    new RequestAuthenticator({
      clientCertificates: false,
      anonymous: false,
      tokenAuthenticators: [{ name: 'fixed', authenticate: (token) => (token === 't' ? { kind: 'ok', user: u } : { kind: 'none' }) }],
    });

  const cases: Array<[string, string[], string[]]> = [
    ['adds system:authenticated', ['g'], ['g', 'system:authenticated']],
    ['not twice', ['system:authenticated', 'g'], ['system:authenticated', 'g']],
    ['not to a user in system:unauthenticated', ['g', 'system:unauthenticated'], ['g', 'system:unauthenticated']],
  ];
  for (const [what, groups, expected] of cases) {
    test(what, async () => {
      const r = await authenticatorFor(user('u', groups)).authenticateToken('t');
      assert.equal(r.kind, 'ok');
      assert.deepEqual(r.kind === 'ok' && r.user.groups, expected);
      const viaHeader = await authenticatorFor(user('u', groups)).authenticate(undefined, { authorization: 'Bearer t' });
      assert.deepEqual(viaHeader.groups, expected);
    });
  }

  test('a header with two spaces before the token: 401, with the warning', async () => {
    const warnings: string[] = [];
    await assert.rejects(authenticatorFor(user('u', [])).authenticate(undefined, { authorization: 'Bearer  t' }, warnings), { code: 401 });
    assert.deepEqual(warnings, [INVALID_TOKEN_WITH_SPACE_WARNING]);
  });
});

describe('impersonated groups (endpoints/filters/impersonation.go)', () => {
  const allowAll: Authorizer = { authorize: () => ({ decision: 'allow', reason: '' }) };
  const admin = user('admin', ['system:masters', 'system:authenticated']);
  const groupsOf = (headers: Record<string, string>): string[] => impersonate(admin, headers, allowAll).user.groups;

  // [what, headers, groups]
  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['a user', { 'impersonate-user': 'jane' }, ['system:authenticated']],
    ['a user with groups', { 'impersonate-user': 'jane', 'impersonate-group': 'g1, g2' }, ['g1', 'g2', 'system:authenticated']],
    ['a user in system:unauthenticated: not also authenticated', { 'impersonate-user': 'jane', 'impersonate-group': 'system:unauthenticated' }, ['system:unauthenticated']],
    ['a user in system:authenticated: once', { 'impersonate-user': 'jane', 'impersonate-group': 'system:authenticated,g' }, ['system:authenticated', 'g']],
    ['a service account: its groups', { 'impersonate-user': 'system:serviceaccount:default:sa1' }, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']],
    ['a service account with groups: those only', { 'impersonate-user': 'system:serviceaccount:default:sa1', 'impersonate-group': 'foo' }, ['foo', 'system:authenticated']],
    ['anonymous', { 'impersonate-user': 'system:anonymous' }, ['system:unauthenticated']],
    ['anonymous with a group', { 'impersonate-user': 'system:anonymous', 'impersonate-group': 'g' }, ['g', 'system:unauthenticated']],
  ];
  for (const [what, headers, groups] of cases) {
    test(what, () => assert.deepEqual(groupsOf(headers), groups));
  }
});
