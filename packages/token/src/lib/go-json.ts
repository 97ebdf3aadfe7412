/**
 * JSON as Go writes it. Kubernetes serialises tokens with go-jose's fork of `encoding/json` (object
 * keys sorted, `<` `>` `&` U+2028 U+2029 escaped as `\u003c`…, `\b` `\f` as `\u0008` `\u000c`,
 * invalid UTF-16 replaced by U+FFFD) and discovery documents with `encoding/json` (same escaping).
 * `JSON.stringify` differs only in those escapes, so its output is post-processed — and only when
 * it contains one of the characters concerned, which keeps the common case at native speed.
 */

const GO_ESCAPES = /\\\\|\\b|\\f|\\u[dD][89abAB][0-9a-fA-F]{2}|\\u[dD][c-fC-F][0-9a-fA-F]{2}|[<>&\u2028\u2029]/g;

function goEscape(m: string): string {
  switch (m) {
    case '\\\\':
      return m;
    case '\\b':
      return '\\u0008';
    case '\\f':
      return '\\u000c';
    case '<':
      return '\\u003c';
    case '>':
      return '\\u003e';
    case '&':
      return '\\u0026';
    case '\u2028':
      return '\\u2028';
    case '\u2029':
      return '\\u2029';
    default:
      // a lone surrogate, which JSON.stringify escapes and Go cannot represent
      return '\\ufffd';
  }
}

/** Rewrites the string escapes of `JSON.stringify` output into Go's. */
export function goEscapes(json: string): string {
  // indexOf is several times faster than a character-class regex on the common, clean case
  if (
    json.indexOf('\\') < 0 &&
    json.indexOf('<') < 0 &&
    json.indexOf('>') < 0 &&
    json.indexOf('&') < 0 &&
    json.indexOf('\u2028') < 0 &&
    json.indexOf('\u2029') < 0
  ) {
    return json;
  }
  return json.replace(GO_ESCAPES, goEscape);
}

/** A JSON string literal exactly as Go's encoding/json writes it. */
export function goJsonString(s: string): string {
  return goEscapes(JSON.stringify(s));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when every object under `v` already lists its keys in sorted order. */
function isSortedDeep(v: unknown): boolean {
  if (Array.isArray(v)) {
    for (const x of v) if (!isSortedDeep(x)) return false;
    return true;
  }
  if (!isPlainObject(v)) return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  let prev: string | undefined;
  for (const k in v) {
    if (prev !== undefined && !(prev < k)) return false;
    prev = k;
    if (!isSortedDeep(v[k])) return false;
  }
  return true;
}

/**
 * JSON with the keys of every object sorted. Objects are written by hand because an object with
 * integer-like keys ("9", "10") always enumerates them in numeric order, whatever the insertion order.
 */
function stringifySorted(v: unknown): string | undefined {
  if (isPlainObject(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON(): unknown }).toJSON();
  }
  if (Array.isArray(v)) return '[' + v.map((x) => stringifySorted(x) ?? 'null').join(',') + ']';
  if (!isPlainObject(v)) return JSON.stringify(v);
  const parts: string[] = [];
  for (const k of Object.keys(v).sort()) {
    const s = stringifySorted(v[k]);
    if (s !== undefined) parts.push(JSON.stringify(k) + ':' + s);
  }
  return '{' + parts.join(',') + '}';
}

/**
 * Canonical JSON for a claims object: keys sorted at every level (as go-jose's builder produces
 * them), Go's string escapes, no whitespace.
 */
export function serializeSorted(value: object): string {
  const json = isSortedDeep(value) ? JSON.stringify(value) : stringifySorted(value)!;
  return goEscapes(json);
}
