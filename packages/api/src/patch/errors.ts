/**
 * The Status errors Kubernetes' patch handler returns (k8s.io/apiserver endpoints/handlers/patch.go).
 */
import { badRequest, field, invalid, StatusError } from '../status.js';

/** 422 from NewGenericServerResponse: the patch could not be applied; the reason is not returned. */
export function patchRejected(): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/** A non-Status error the apiserver answers as 500 with reason Unknown and the error text. */
export function unknownError(message: string): StatusError {
  return new StatusError(500, 'Unknown', message);
}

/** 400: the patch body cannot be decoded. */
export function badPatch(message: string): StatusError {
  return badRequest(message);
}

/** 422 ` "" is invalid: patch: Invalid value: "<value>": <detail>` — the patched object does not decode. */
export function patchInvalid(value: string, detail: string): StatusError {
  return invalid({ group: '', kind: '' }, '', [field.invalid('patch', value, detail)]);
}

/**
 * Runs `fn`, turning a stack overflow on absurdly nested input into a 400 instead of an internal
 * error. Kubernetes' JSON decoder stops at 10000 levels; these walks are recursive and may stop
 * earlier, well beyond anything a real manifest has.
 */
export function guardDepth<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw badRequest('the request body is nested too deeply');
    throw err;
  }
}
