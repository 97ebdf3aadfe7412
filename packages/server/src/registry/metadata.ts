/**
 * What kube-apiserver's create handler does with a request's metadata: the system fields a
 * client may not set are wiped (rest.WipeObjectMetaSystemFields), and the create-only kinds
 * (TokenRequest, TokenReview) answer back what is left, the server's own fields set on top.
 */
import type { ObjectMeta } from '@boundtoken/api';
import { objectMetaJson } from '@boundtoken/api/protobuf';

export function wipeObjectMetaSystemFields(meta: ObjectMeta): void {
  delete meta.creationTimestamp;
  delete meta.uid;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
}

/** The fields a create-only kind sets itself, in Go's order, when the request brings no others. */
const SET_ONLY = new Set(['name', 'namespace', 'creationTimestamp']);

/**
 * The request's metadata as the answer gives it back: wiped, `set` on top (an undefined value
 * clears a field, e.g. the namespace of a cluster-scoped kind), in Go's field order with a
 * creationTimestamp not set written `null`. A request's explicit nulls (kubectl 1.31) are absent.
 */
export function answeredMetadata(request: ObjectMeta | undefined, set: ObjectMeta): ObjectMeta {
  const meta: Record<string, unknown> = { ...request };
  wipeObjectMetaSystemFields(meta);
  Object.assign(meta, set);
  for (const k of Object.keys(meta)) if (meta[k] == null) delete meta[k];
  // most requests bring nothing of their own: no need for the general mapping
  if (!Object.keys(meta).every((k) => SET_ONLY.has(k))) return objectMetaJson(meta) as ObjectMeta;
  const out: Record<string, unknown> = {};
  if (meta.name) out.name = meta.name;
  if (meta.namespace) out.namespace = meta.namespace;
  out.creationTimestamp = meta.creationTimestamp ?? null;
  return out as ObjectMeta;
}
