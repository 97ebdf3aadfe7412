/**
 * Values cross the store boundary as JSON text: serialising on the way in copies the caller's
 * object (later mutations cannot reach stored state) and parsing on the way out hands every caller
 * a fresh copy. `metadata.resourceVersion` is always the store's: it is replaced on the way in and
 * on the way out.
 */
import type { KubeObject } from '@boundtoken/api';

/** JSON of `value` with `metadata.resourceVersion` set to `revision` (or removed when undefined). */
export function encodeValue(value: KubeObject, revision: number | undefined): string {
  let copy: KubeObject = value;
  if (revision !== undefined || value.metadata?.resourceVersion !== undefined) {
    const metadata: { resourceVersion?: string } = { ...(value.metadata ?? {}) };
    if (revision === undefined) delete metadata.resourceVersion;
    else metadata.resourceVersion = String(revision);
    copy = { ...value, metadata };
  }
  const json = JSON.stringify(copy);
  if (typeof json !== 'string') throw new TypeError('store value must be a JSON object');
  return json;
}

/** Parses stored JSON; with `revision`, stamps `metadata.resourceVersion`. */
export function decodeValue<T extends KubeObject>(json: string, revision?: number): T {
  const value = JSON.parse(json) as T;
  if (revision !== undefined) {
    const metadata = value.metadata as { resourceVersion?: string } | undefined;
    if (metadata && typeof metadata === 'object') metadata.resourceVersion = String(revision);
    else value.metadata = { resourceVersion: String(revision) };
  }
  return value;
}

/** Re-stamps stored JSON with another revision (a deletion carries the last value at its revision). */
export function restamp(json: string, revision: number): string {
  return JSON.stringify(decodeValue(json, revision));
}
