/**
 * Argument checks shared by every backend. Caller misuse (a key that is not a string, a value that
 * is not a JSON object, a revision that is not a positive integer) throws `TypeError` before any
 * state is touched, so bad input never reaches a backend.
 */
import type { KubeObject } from '@boundtoken/api';
import type { ListOptions } from '../store.js';

export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('store key must be a non-empty string');
  if (key.includes('\0')) throw new TypeError('store key must not contain NUL characters');
}

export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw new TypeError('store prefix must be a string');
  if (prefix.includes('\0')) throw new TypeError('store prefix must not contain NUL characters');
}

export function assertValue(value: unknown): asserts value is KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('store value must be a JSON object');
  }
  const meta = (value as KubeObject).metadata;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw new TypeError('store value metadata must be an object');
  }
}

export function isRevision(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** `expectedRevision` of update/delete: undefined, or a positive integer. */
export function assertExpectedRevision(rev: unknown): asserts rev is number | undefined {
  if (rev !== undefined && !(isRevision(rev) && rev > 0)) {
    throw new TypeError('expectedRevision must be a positive integer');
  }
}

export function assertRevision(rev: unknown, what: string): asserts rev is number {
  if (!isRevision(rev)) throw new TypeError(`${what} must be a non-negative integer`);
}

export function assertListOptions(options: ListOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new TypeError('list options must be an object');
  const { limit, startAfter, revision } = options;
  if (limit !== undefined && !isRevision(limit)) throw new TypeError('list limit must be a non-negative integer');
  if (startAfter !== undefined && typeof startAfter !== 'string') throw new TypeError('list startAfter must be a string');
  if (revision !== undefined && !isRevision(revision)) throw new TypeError('list revision must be a non-negative integer');
}
