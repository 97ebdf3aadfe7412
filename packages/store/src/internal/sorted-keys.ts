/**
 * A sorted set of strings for the memory backend's key order: sorted chunks of at most 1024 keys,
 * so an insert or delete moves at most a chunk (a flat sorted array would move all keys: creates
 * slow down linearly with the store's size) and a range scan is a binary search plus a walk.
 */

const MAX_CHUNK = 1024;

/** Index of the first element of sorted `arr` that is >= `key` (> `key` when `after`). */
function bound(arr: readonly string[], key: string, after: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = arr[mid]!;
    if (v < key || (after && v === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  #chunks: string[][] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The chunk that holds `key` or where it would go. */
  #chunkFor(key: string): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = chunks[mid]!;
      if (chunk[chunk.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(key: string): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push([key]);
      this.#size = 1;
      return;
    }
    const c = this.#chunkFor(key);
    const chunk = this.#chunks[c]!;
    const i = bound(chunk, key, false);
    if (chunk[i] === key) return;
    chunk.splice(i, 0, key);
    this.#size++;
    if (chunk.length > MAX_CHUNK) this.#chunks.splice(c + 1, 0, chunk.splice(chunk.length >>> 1));
  }

  delete(key: string): void {
    if (this.#chunks.length === 0) return;
    const c = this.#chunkFor(key);
    const chunk = this.#chunks[c]!;
    const i = bound(chunk, key, false);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    this.#size--;
    if (chunk.length === 0) this.#chunks.splice(c, 1);
  }

  /** The keys >= `key` (> `key` when `after`), in order. */
  *from(key: string, after = false): Generator<string> {
    if (this.#chunks.length === 0) return;
    const chunks = this.#chunks;
    let c = this.#chunkFor(key);
    let i = bound(chunks[c]!, key, after);
    for (; c < chunks.length; c++, i = 0) {
      const chunk = chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }
}
