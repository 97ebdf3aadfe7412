/**
 * JSON forms of the apimachinery messages that are not JSON objects: metav1.Time / MicroTime (RFC 3339
 * strings), resource.Quantity (string), intstr.IntOrString (number or string), FieldsV1 (raw JSON),
 * and the ExtraValue wrapper (string array).
 */
import { malformed } from './errors.js';

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range RFC 3339 can write. */
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300799;

/** time.Unix(seconds, nanos).UTC(), formatted as RFC 3339 (seconds) or RFC 3339 with microseconds. */
export function formatTime(seconds: number, nanos: number, micro: boolean): string {
  // time.Unix normalises nanos outside [0, 1e9) into the seconds.
  const carry = Math.floor(nanos / 1e9);
  const s = seconds + carry;
  const ns = nanos - carry * 1e9;
  if (!Number.isSafeInteger(s) || s < MIN_SECONDS || s > MAX_SECONDS) {
    throw malformed(`proto: timestamp ${seconds}s is outside the range 0001-01-01 to 9999-12-31`);
  }
  const iso = new Date(s * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ (years 0001–9999)
  const base = iso.slice(0, 19);
  return micro ? `${base}.${String(Math.floor(ns / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time as Go's time.Parse(time.RFC3339, …) does; undefined if it is not one. */
export function parseTime(value: string): { seconds: number; nanos: number } | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, 0);
  let seconds = date.getTime() / 1000;
  if (!m[8]) {
    const offset = (Number(m[10]) * 60 + Number(m[11])) * 60;
    if (Number(m[10]) > 23 || Number(m[11]) > 59) return undefined;
    seconds -= m[9] === '+' ? offset : -offset;
  }
  const nanos = m[7] ? Number(m[7].slice(1).padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** The grammar resource.ParseQuantity accepts. */
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

export const QUANTITY_FORMAT_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
