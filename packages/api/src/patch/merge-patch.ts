/**
 * JSON merge patch (RFC 7386, `application/merge-patch+json`) with the semantics of
 * evanphx/json-patch's MergePatch, which Kubernetes uses: objects merge key by key, `null`
 * deletes a key, anything else (arrays included) replaces; null members of newly added objects are
 * dropped.
 */
import type { KubeObject } from '../objects.js';
import { badPatch, guardDepth } from './errors.js';

/** Applies a merge patch to `original` (not modified) and returns the result. */
export function applyMergePatch(original: KubeObject, patch: unknown): KubeObject {
  if (!isObject(patch)) {
    // MergePatch answers ErrBadJSONPatch for null and non-object patches; Kubernetes makes it a 400
    throw badPatch('Invalid JSON Patch');
  }
  return guardDepth(() => mergeDocs(structuredClone(original) as Record<string, unknown>, patch) as KubeObject);
}

function mergeDocs(doc: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(patch)) {
    const v = patch[key];
    if (v === null) {
      delete doc[key];
      continue;
    }
    const cur = doc[key];
    if (cur === undefined || cur === null) {
      doc[key] = pruneNulls(v);
    } else if (isObject(cur) && isObject(v)) {
      doc[key] = mergeDocs(cur, v);
    } else if (isObject(cur)) {
      doc[key] = v; // a non-object patch value replaces an object as is
    } else {
      doc[key] = pruneNulls(v);
    }
  }
  return doc;
}

/** A deep copy of a patch value without null object members (null array elements stay). */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) if (e !== null) out[k] = pruneNulls(e);
    return out;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
