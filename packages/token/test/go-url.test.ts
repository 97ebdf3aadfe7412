import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goParseUrl } from '@boundtoken/token';

// what Go's url.Parse makes of each: u.Scheme, u.RawQuery, whether u.Fragment is empty, or err.Error()
test('goParseUrl: scheme, query and fragment as url.Parse splits them', () => {
  assert.deepEqual(goParseUrl('HTTPS://a.com/x?q=1#frag'), { ok: true, scheme: 'https', rawQuery: 'q=1', fragment: 'frag', text: 'https://a.com/x?q=1#frag' });
  assert.deepEqual(goParseUrl('https://a.com?'), { ok: true, scheme: 'https', rawQuery: '', fragment: '', text: 'https://a.com?' });
  assert.deepEqual(goParseUrl('https://a.com??'), { ok: true, scheme: 'https', rawQuery: '?', fragment: '', text: 'https://a.com??' });
  assert.deepEqual(goParseUrl('https://a.com#'), { ok: true, scheme: 'https', rawQuery: '', fragment: '', text: 'https://a.com#' });
  assert.deepEqual(goParseUrl('https://a.com/#x?y'), { ok: true, scheme: 'https', rawQuery: '', fragment: 'x?y', text: 'https://a.com/#x?y' });
  assert.deepEqual(goParseUrl('https://a.com:99999'), { ok: true, scheme: 'https', rawQuery: '', fragment: '', text: 'https://a.com:99999' });
});

test('goParseUrl: opaque URLs, user info, relative references', () => {
  assert.deepEqual(goParseUrl('mailto:a b?x'), { ok: true, scheme: 'mailto', rawQuery: 'x', fragment: '', text: 'mailto:a b?x' });
  assert.equal(goParseUrl('https://user:pw@a.com').ok, true);
  assert.deepEqual(goParseUrl('issuer.example.com'), { ok: true, scheme: '', rawQuery: '', fragment: '', text: 'issuer.example.com' });
});

test("goParseUrl: Go's errors", () => {
  const cases: [string, string][] = [
    ['https://a.com#%zz', 'parse "https://a.com#%zz": invalid URL escape "%zz"'],
    ['https://us er@a.com', 'parse "https://us er@a.com": net/url: invalid userinfo'],
    ['https://a b', 'parse "https://a b": invalid character " " in host name'],
    ['https://a.com ', 'parse "https://a.com ": invalid character " " in host name'],
    ['https://a.com:x', 'parse "https://a.com:x": invalid port ":x" after host'],
    ['https://[::1', `parse "https://[::1": missing ']' in host`],
    [':a', 'parse ":a": missing protocol scheme'],
    ['1a:b', 'parse "1a:b": first path segment in URL cannot contain colon'],
    ['https://a.com/\x7f', 'parse "https://a.com/\\x7f": net/url: invalid control character in URL'],
  ];
  for (const [raw, error] of cases) assert.deepEqual(goParseUrl(raw), { ok: false, error }, raw);
});
