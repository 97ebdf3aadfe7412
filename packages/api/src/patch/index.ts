/**
 * `@boundtoken/api/patch`: the four PATCH content types applied with Kubernetes' semantics and
 * error answers, and the managedFields bookkeeping of server-side apply.
 */
export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch, jsonPatchStrictErrors, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
export { applyStrategicMergePatch } from './strategic-merge-patch.js';
export { patchObject, PATCH_CONTENT_TYPES } from './patch-object.js';
export type { PatchType, PatchOptions } from './patch-object.js';
export { applyServerSide, trackUpdate, LAST_APPLIED_ANNOTATION } from './server-side-apply.js';
export type { ApplyOptions, UpdateTrackingOptions } from './server-side-apply.js';
export { FieldSet, formatPath } from './fieldpath.js';
