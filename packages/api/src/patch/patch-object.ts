/**
 * A PATCH request's body applied and checked the way the apiserver's patch handler does it, with
 * its error shapes: the patch is applied to the stored object, the result is decoded into the
 * kind, and decode failures or (under fieldValidation=Strict) unknown/duplicate fields become a
 * 422 ` "" is invalid: patch: Invalid value: "<patched object or patch>": <why>`.
 */
import type { KubeObject } from '../objects.js';
import { decodeObject, strictErrors, type CheckResult, type FieldValidation } from '../schema/check.js';
import type { GroupVersionKind } from '../schema/registry.js';
import { guardDepth, patchInvalid } from './errors.js';
import { applyJsonPatch, jsonPatchStrictErrors } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { strategicMerge } from './strategic-merge-patch.js';

/** The non-apply patch types. Server-side apply is applyServerSide. */
export type PatchType = 'json' | 'merge' | 'strategic';

/** Content-Type → patch type. */
export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType | 'apply'>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export interface PatchOptions {
  type: PatchType;
  gvk: GroupVersionKind;
  fieldValidation: FieldValidation;
  /** Paths of duplicate keys in the patch body (findDuplicateKeys on the raw text). */
  duplicateFields?: string[];
}

/**
 * Applies `patch` (the decoded body) to `original` and decodes the result. Returns the object as
 * it would be stored and the `Warning` texts (fieldValidation=Warn); throws StatusError.
 */
export function patchObject(original: KubeObject, patch: unknown, opts: PatchOptions): CheckResult {
  return guardDepth(() => patchObjectUnguarded(original, patch, opts));
}

function patchObjectUnguarded(original: KubeObject, patch: unknown, opts: PatchOptions): CheckResult {
  const checking = opts.fieldValidation !== 'Ignore';
  const duplicates = opts.duplicateFields ?? [];
  let patched: KubeObject;
  let shown: () => string;
  let fromPatch: string[];
  switch (opts.type) {
    case 'json':
      fromPatch = checking ? jsonPatchStrictErrors(patch, duplicates) : [];
      patched = applyJsonPatch(original, patch);
      shown = () => JSON.stringify(patched);
      break;
    case 'merge':
      fromPatch = checking ? duplicates.map((p) => `duplicate field ${JSON.stringify(p)}`) : [];
      patched = applyMergePatch(original, patch);
      shown = () => JSON.stringify(patched);
      break;
    case 'strategic': {
      fromPatch = checking ? duplicates.map((p) => `duplicate field ${JSON.stringify(p)}`) : [];
      const merged = strategicMerge(original, patch, opts.gvk);
      patched = merged.object;
      shown = () => merged.consumedPatch;
      break;
    }
    default:
      throw new TypeError(`unsupported patch type ${String(opts.type)}`);
  }
  const decoded = decodeObject(patched, opts.gvk, checking);
  if (decoded.error !== undefined) throw patchInvalid(shown(), decoded.error);
  const errors = strictErrors([...fromPatch, ...decoded.unknown]);
  if (errors.length > 0 && opts.fieldValidation === 'Strict') {
    throw patchInvalid(shown(), `strict decoding error: ${errors.join(', ')}`);
  }
  return { object: decoded.object!, warnings: opts.fieldValidation === 'Warn' ? errors : [] };
}
