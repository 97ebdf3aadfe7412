/**
 * metav1.Time and metav1.MicroTime as Kubernetes decodes and re-serializes them: RFC 3339 in,
 * UTC out (`2024-05-01T12:00:00Z`, seconds; MicroTime `2024-05-01T12:00:00.123456Z`), with Go's
 * `time.Parse` error wording.
 */
import { goQuote } from '../go-quote.js';

export const RFC3339 = '2006-01-02T15:04:05Z07:00';
export const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

/** A parse failure; the message is Go's `time.ParseError` text. */
export class TimeParseError extends Error {
  override name = 'TimeParseError';
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses `value` as Go's time.Parse(RFC3339 or RFC3339Micro) would and returns the canonical UTC
 * form Kubernetes serializes.
 */
export function canonicalTime(value: string, micro: boolean): string {
  const layout = micro ? RFC3339_MICRO : RFC3339;
  const fail = (layoutElem: string, rest: string): never => {
    throw new TimeParseError(
      `parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(rest)} as ${goQuote(layoutElem)}`,
    );
  };
  const range = (what: string): never => {
    throw new TimeParseError(`parsing time ${goQuote(value)}: ${what} out of range`);
  };
  let rest = value;
  const fixed = (n: number, elem: string): number => {
    if (rest.length < n || !/^\d+$/.test(rest.slice(0, n))) fail(elem, rest);
    const v = Number(rest.slice(0, n));
    rest = rest.slice(n);
    return v;
  };
  const literal = (lit: string, elem = lit): void => {
    if (!rest.startsWith(lit)) fail(elem, rest);
    rest = rest.slice(lit.length);
  };

  const year = fixed(4, '2006');
  literal('-');
  const month = fixed(2, '01');
  if (month < 1 || month > 12) range('month');
  literal('-');
  const day = fixed(2, '02');
  literal('T');
  // Go's hour element accepts one or two digits
  const hourDigits = /^\d\d?/.exec(rest)?.[0];
  if (!hourDigits) fail('15', rest);
  rest = rest.slice(hourDigits!.length);
  const hour = Number(hourDigits);
  if (hour >= 24) range('hour');
  literal(':');
  const minute = fixed(2, '04');
  if (minute >= 60) range('minute');
  literal(':');
  const second = fixed(2, '05');
  if (second >= 60) range('second');
  let nanos = 0;
  if (micro) {
    if (rest.length < 7 || rest[0] !== '.' || !/^\d{6}$/.test(rest.slice(1, 7))) fail('.000000', rest);
    nanos = Number(rest.slice(1, 7)) * 1000;
    rest = rest.slice(7);
  } else {
    const frac = /^[.,](\d+)/.exec(rest);
    if (frac) {
      nanos = Number(frac[1]!.slice(0, 9).padEnd(9, '0'));
      rest = rest.slice(frac[0].length);
    }
  }
  let offsetMinutes = 0;
  if (rest.startsWith('Z')) {
    rest = rest.slice(1);
  } else {
    const zone = /^([+-])(\d\d):(\d\d)/.exec(rest);
    if (!zone) fail('Z07:00', rest);
    const [, sign, hh, mm] = zone!;
    if (Number(hh) > 24) range('time zone offset hour');
    if (Number(mm) > 60) range('time zone offset minute');
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm));
    rest = rest.slice(6);
  }
  if (rest.length > 0) throw new TimeParseError(`parsing time ${goQuote(value)}: extra text: ${goQuote(rest)}`);
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) range('day');

  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 0-99 as they are
  t.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const base = `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)}T${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
  return micro ? `${base}.${pad(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

/** Formats a Date as Kubernetes serializes a metav1.Time (RFC 3339, UTC, seconds). */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Formats a Date as a metav1.MicroTime (microseconds; a Date has milliseconds). */
export function formatMicroTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
