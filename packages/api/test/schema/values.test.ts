import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalQuantity, canonicalTime, formatMicroTime, formatTime, QuantityError, TimeParseError } from '@boundtoken/api/schema';

test('quantities take their canonical Kubernetes form', () => {
  const cases: [string | number, string][] = [
    ['0.5', '500m'], [0.5, '500m'], ['1.5', '1500m'], ['1000', '1k'], ['1500', '1500'], [3, '3'],
    ['1536Mi', '1536Mi'], ['2048Ki', '2Mi'], ['0.5Gi', '512Mi'], ['1.5Ki', '1536'], ['0.5Ki', '512'],
    ['100m', '100m'], ['1e3', '1e3'], ['12e2', '1200'], ['-1.5', '-1500m'], ['0.1n', '1n'], ['+5', '5'],
    ['.5', '500m'], ['0', '0'], ['000', '0'], ['1E', '1E'], ['129M', '129M'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
});

test('bad quantities fail with Kubernetes messages', () => {
  for (const [input, message] of [
    ['', /regular expression/],
    ['abc', /regular expression/],
    ['1x', /regular expression/],
    ['1KK', /unable to parse quantity's suffix/],
  ] as const) {
    assert.throws(() => canonicalQuantity(input), (e: unknown) => e instanceof QuantityError && message.test(e.message));
  }
});

test('times parse like Go time.Parse(RFC3339) and print in UTC', () => {
  assert.equal(canonicalTime('2024-05-01T12:00:00Z', false), '2024-05-01T12:00:00Z');
  assert.equal(canonicalTime('2024-05-01T00:30:00.5-01:00', false), '2024-05-01T01:30:00Z');
  assert.equal(canonicalTime('2024-12-31T23:59:59-00:30', false), '2025-01-01T00:29:59Z');
  assert.equal(canonicalTime('0001-01-01T00:00:00Z', false), '0001-01-01T00:00:00Z');
  assert.equal(canonicalTime('2024-02-29T00:00:00Z', false), '2024-02-29T00:00:00Z');
  assert.equal(canonicalTime('2024-05-01T12:00:00.000001+00:00', true), '2024-05-01T12:00:00.000001Z');
  for (const [input, micro, message] of [
    ['2023-02-29T00:00:00Z', false, 'parsing time "2023-02-29T00:00:00Z": day out of range'],
    ['2024-01-01 00:00:00Z', false, 'parsing time "2024-01-01 00:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 00:00:00Z" as "T"'],
    ['2024-01-01T00:00:00', false, 'parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"'],
    ['2024-01-01T00:00:00Zz', false, 'parsing time "2024-01-01T00:00:00Zz": extra text: "z"'],
    ['2024-01-01T00:00:00Z', true, 'parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'],
  ] as const) {
    assert.throws(() => canonicalTime(input, micro), (e: unknown) => e instanceof TimeParseError && e.message === message);
  }
  const d = new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 123));
  assert.equal(formatTime(d), '2024-05-01T12:00:00Z');
  assert.equal(formatMicroTime(d), '2024-05-01T12:00:00.123000Z');
});
