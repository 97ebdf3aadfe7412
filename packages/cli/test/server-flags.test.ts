/**
 * kube-apiserver's flag semantics on `boundtoken server` / `up`: pflag's bool spellings
 * (strconv.ParseBool), StringSlice `--api-audiences` (repeatable, comma-separated) and
 * StringArray `--service-account-key-file` (repeatable, never split).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addServerFlags, serverFlagsOf } from '../src/server-flags.js';

function parse(args: string[]): ReturnType<typeof serverFlagsOf> {
  const cmd = addServerFlags(new Command('server')).exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse(args, { from: 'user' });
  return serverFlagsOf(cmd.opts());
}

describe('server flags', () => {
  test('bool flags take every spelling of strconv.ParseBool; a bare flag is true', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parse([`--service-account-lookup=${v}`]).serviceAccountLookup, true, v);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parse([`--service-account-extend-token-expiration=${v}`]).serviceAccountExtendTokenExpiration, false, v);
    assert.equal(parse(['--anonymous-auth']).anonymousAuth, true);
    assert.equal(parse([]).anonymousAuth, false);
    for (const v of ['yes', 'tRuE', '']) {
      assert.throws(() => parse([`--anonymous-auth=${v}`]), { message: new RegExp(`strconv.ParseBool: parsing "${v}": invalid syntax`) });
    }
  });

  test('--api-audiences is repeatable and comma-separated (StringSlice)', () => {
    assert.deepEqual(parse(['--api-audiences', 'a', '--api-audiences', 'b,c']).apiAudiences, ['a', 'b', 'c']);
    assert.equal(parse([]).apiAudiences, undefined);
  });

  test('--service-account-key-file is repeatable and never split (StringArray)', () => {
    assert.deepEqual(parse(['--service-account-key-file', 'keys/we,ird.pem', '--service-account-key-file', 'b.pem']).serviceAccountKeyFile, [
      'keys/we,ird.pem',
      'b.pem',
    ]);
  });

  test('--service-account-issuer is repeatable and never split', () => {
    assert.deepEqual(parse(['--service-account-issuer', 'https://a', '--service-account-issuer', 'b,c']).serviceAccountIssuer, ['https://a', 'b,c']);
  });
});
