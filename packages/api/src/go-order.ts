/**
 * Go's order of strings — the order of their UTF-8 bytes — in which encoding/json writes a map's
 * keys and protobuf encodes them. JavaScript compares UTF-16 code units instead; the two differ
 * only for characters past U+FFFF (surrogates) against those from U+E000 to U+FFFF.
 */

/** A UTF-16 code unit ranked as its character's UTF-8 bytes sort: surrogates after U+E000–U+FFFF. */
function utf8Rank(c: number): number {
  return c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c;
}

export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/** The keys of `m` in Go's order: as they are when they already are (one pass, no sort). */
export function goSortedKeys(m: object): string[] {
  const keys = Object.keys(m);
  for (let i = 1; i < keys.length; i++) {
    if (compareGoStrings(keys[i - 1]!, keys[i]!) > 0) return keys.sort(compareGoStrings);
  }
  return keys;
}
