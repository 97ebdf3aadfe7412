/**
 * Key ranges. A prefix `p` selects the keys `k` with `p <= k < prefixEnd(p)`; every backend
 * filters with `startsWith` as well, so the range bound only has to be an upper bound.
 * Keys are compared as strings (UTF-16 code units); for the ASCII keys Kubernetes uses this is the
 * same order as etcd's and SQLite's byte order.
 */

/** The smallest string greater than every string starting with `prefix`; undefined: no bound. */
export function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    // stay clear of surrogates so the bound is a well-formed string (UTF-8 encodable)
    if (c < 0xd7ff || (c >= 0xe000 && c < 0xffff)) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return undefined;
}

/** The first key of a listing: the prefix, or just after `startAfter` when that is further on. */
export function rangeStart(prefix: string, startAfter: string | undefined): { key: string; inclusive: boolean } {
  if (startAfter !== undefined && startAfter >= prefix) return { key: startAfter, inclusive: false };
  return { key: prefix, inclusive: true };
}
