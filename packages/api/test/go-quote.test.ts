import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goQuote, goQuoteList } from '@boundtoken/api';

// strconv.Quote's output, as `fmt.Printf("%q", s)` prints it
const quotes: [string, string][] = [
  ['plain', '"plain"'],
  ['', '""'],
  ['a"b\\c', '"a\\"b\\\\c"'],
  ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
  ['\x00\x1f\x7f', '"\\x00\\x1f\\x7f"'],
  ['héllo ✓ 日本', '"héllo ✓ 日本"'],
  ['\u00a0\u200b', '"\\u00a0\\u200b"'],
  ['\u0080\u009f\u00ad', '"\\u0080\\u009f\\u00ad"'],
  ['\u2028', '"\\u2028"'],
  ['<&>', '"<&>"'],
  ['😀', '"😀"'],
  ['\u{e0001}', '"\\U000e0001"'],
];
for (const [input, want] of quotes) {
  test(`goQuote ${JSON.stringify(input)}`, () => assert.equal(goQuote(input), want));
}

test('goQuoteList is %q of a []string', () => {
  assert.equal(goQuoteList([]), '[]');
  assert.equal(goQuoteList(['a', 'b c', '\n']), '["a" "b c" "\\n"]');
});
