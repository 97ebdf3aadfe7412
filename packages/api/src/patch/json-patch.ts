/**
 * JSON patch (RFC 6902, `application/json-patch+json`) with Kubernetes' answers: a body that is
 * not a list of operation objects is a 400, more than 10000 operations a 413, and any operation
 * that fails (a failed `test`, a missing path) a 422 "the server rejected our request due to an
 * error in our request" — Kubernetes does not say which operation failed.
 */
import jsonpatch from 'fast-json-patch';
import type { KubeObject } from '../objects.js';
import { requestEntityTooLarge, StatusError } from '../status.js';
import { badPatch, guardDepth, patchRejected } from './errors.js';

/** Kubernetes' maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** The fields of an operation; others are "unknown" to the strict decoder. */
const OPERATION_FIELDS = new Set(['op', 'path', 'from', 'value']);

/** Applies a JSON patch to `original` (not modified) and returns the result. */
export function applyJsonPatch(original: KubeObject, operations: unknown): KubeObject {
  const ops = decodeOperations(operations);
  let result: unknown;
  try {
    result = guardDepth(() => jsonpatch.applyPatch(original, ops as jsonpatch.Operation[], true, false).newDocument);
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw patchRejected();
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result)) throw patchRejected();
  return result as KubeObject;
}

/**
 * Strict-decoding errors of the operations themselves (`json patch unknown field "[0].valu"`),
 * which fieldValidation=Strict rejects and Warn reports.
 */
export function jsonPatchStrictErrors(operations: unknown, duplicateFields: string[] = []): string[] {
  const errors = duplicateFields.map((p) => `json patch duplicate field ${JSON.stringify(p)}`);
  if (!Array.isArray(operations)) return errors;
  operations.forEach((op, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return;
    for (const key of Object.keys(op)) {
      if (!OPERATION_FIELDS.has(key)) errors.push(`json patch unknown field ${JSON.stringify(`[${i}].${key}`)}`);
    }
  });
  return errors;
}

function decodeOperations(operations: unknown): unknown[] {
  if (!Array.isArray(operations)) {
    throw badPatch(`json: cannot unmarshal ${jsonKind(operations)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of operations) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      if (op === null) continue; // a null operation decodes to an empty one, which fails to apply
      throw badPatch(`json: cannot unmarshal ${jsonKind(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (operations.length > MAX_JSON_PATCH_OPERATIONS) {
    throw requestEntityTooLarge(
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${operations.length}`,
    );
  }
  if (operations.includes(null)) throw patchRejected();
  return operations;
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}
