import type { ResourceRef } from './types.js';

/**
 * The API path of a resource: `/api/v1/namespaces/ns/pods/name/status` for the core group,
 * `/apis/<group>/<version>/…` otherwise. Segments are URL-encoded; a segment containing `/` is a
 * caller error (`TypeError`).
 */
export function resourcePath(ref: ResourceRef): string {
  const version = ref.version ?? 'v1';
  let path = ref.group ? `/apis/${segment(ref.group, 'group')}/${segment(version, 'version')}` : `/api/${segment(version, 'version')}`;
  if (ref.namespace !== undefined) path += `/namespaces/${segment(ref.namespace, 'namespace')}`;
  path += `/${segment(ref.resource, 'resource')}`;
  if (ref.name !== undefined) path += `/${segment(ref.name, 'name')}`;
  if (ref.subresource !== undefined) {
    if (ref.name === undefined) throw new TypeError('resourcePath: a subresource needs a name');
    path += `/${segment(ref.subresource, 'subresource')}`;
  }
  return path;
}

function segment(value: string, what: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('/') || value === '.' || value === '..') {
    throw new TypeError(`resourcePath: invalid ${what} ${JSON.stringify(value)}`);
  }
  return encodeURIComponent(value);
}
