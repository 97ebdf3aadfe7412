/**
 * The 403 a denied request gets (k8s.io/apiserver endpoints/handlers/responsewriters: forbiddenMessage
 * and Forbidden): `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the
 * namespace "default"`, with the authorizers' reasons appended after `: `.
 */
import { StatusError, forbidden, goQuote } from '@boundtoken/api';
import type { AuthorizationAttributes } from '../auth/types.js';

const sanitize = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * `User "u" cannot get path "/healthz"`, `User "u" cannot list resource "pods" in API group "" in the
 * namespace "ns"`, or `… at the cluster scope`. HTML-sensitive characters are escaped as Kubernetes does.
 */
export function forbiddenReason(attrs: AuthorizationAttributes): string {
  const user = goQuote(attrs.user.name);
  if (!attrs.resourceRequest) return sanitize(`User ${user} cannot ${attrs.verb} path ${goQuote(attrs.path)}`);
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const head = `User ${user} cannot ${attrs.verb} resource ${goQuote(resource)} in API group ${goQuote(attrs.apiGroup)}`;
  if (attrs.namespace) return sanitize(`${head} in the namespace ${goQuote(attrs.namespace)}`);
  return sanitize(`${head} at the cluster scope`);
}

/**
 * The Forbidden `Status` for a denied request; `reason` is the (union) authorizer's reason, appended
 * when not empty. Non-resource requests get `forbidden: User "u" cannot get path "/x"`.
 */
export function forbiddenError(attrs: AuthorizationAttributes, reason = ''): StatusError {
  const message = reason ? `${forbiddenReason(attrs)}: ${reason}` : forbiddenReason(attrs);
  if (!attrs.resourceRequest || (!attrs.apiGroup && !attrs.resource)) {
    return new StatusError(403, 'Forbidden', `forbidden: ${message}`, {});
  }
  return forbidden({ group: attrs.apiGroup, resource: attrs.resource }, attrs.name, message);
}
