/**
 * What a request is about, derived from its method, path and query the way Kubernetes'
 * RequestInfoFactory does it (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
 */
import type { SelectorRequirement } from '../auth/types.js';
import { parseFieldSelector } from '../registry/selectors.js';
import { isValidPathSegmentName } from '../registry/validation/names.js';

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  /** Kubernetes verb (resource requests) or lower-case HTTP method (non-resource requests). */
  verb: string;
  /** `api` or `apis` for resource requests. */
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Path segments after the resource (`/proxy/...`), rarely used. */
  parts: string[];
  fieldSelector?: SelectorRequirement[];
}

const namespaceSubresources = new Set(['status', 'finalize']);

function nonResource(method: string, path: string): RequestInfo {
  return {
    resourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };
}

/** A bool query parameter: present and neither `0` nor `false` (Convert_Slice_string_To_bool). */
function isTrue(value: string | undefined): boolean {
  if (value === undefined) return false;
  return value !== '0' && value.toLowerCase() !== 'false';
}

/** The verbs whose selectors the authorizer sees (AuthorizeWithSelectors). */
const verbsWithSelectors = new Set(['list', 'watch', 'deletecollection']);

/**
 * @param path the URL path, without the query string.
 * @param query the parsed query string.
 */
export function requestInfo(method: string, path: string, query: Record<string, string | undefined>): RequestInfo {
  const segments = path.split('/').filter((s, i) => i > 0 || s !== '');
  // path starts with '/', so segments[0] is '' — drop it, keep inner empties out
  const parts = segments.filter((s) => s !== '');
  if (parts.length === 0) return nonResource(method, path);
  const prefix = parts[0]!;
  if (prefix !== 'api' && prefix !== 'apis') return nonResource(method, path);

  let rest = parts.slice(1);
  let apiGroup = '';
  if (prefix === 'apis') {
    if (rest.length < 3) return nonResource(method, path); // /apis, /apis/group, /apis/group/version
    apiGroup = rest[0]!;
    rest = rest.slice(1);
  } else if (rest.length < 2) {
    return nonResource(method, path); // /api, /api/v1
  }
  const apiVersion = rest[0]!;
  rest = rest.slice(1);

  let verb: string;
  switch (method.toUpperCase()) {
    case 'POST':
      verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      verb = 'get';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }

  // the deprecated /watch/ path prefix: the verb, whatever the method
  const verbViaPathPrefix = rest[0] === 'watch' && rest.length > 1;
  if (verbViaPathPrefix) {
    verb = 'watch';
    rest = rest.slice(1);
  }

  let namespace = '';
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      namespace = rest[1]!;
      // /namespaces/{ns}/{resource}… unless it is the namespace's own subresource
      if (rest.length > 2 && !namespaceSubresources.has(rest[2]!)) rest = rest.slice(2);
    }
  }

  const info: RequestInfo = {
    resourceRequest: true,
    path,
    verb,
    apiPrefix: prefix,
    apiGroup,
    apiVersion,
    namespace,
    resource: rest[0] ?? '',
    subresource: rest.length >= 3 ? rest[2]! : '',
    name: rest.length >= 2 ? rest[1]! : '',
    parts: rest.slice(3),
  };
  // note: for /api/v1/namespaces/foo Kubernetes sets both namespace and name to "foo"
  let fieldSelector: SelectorRequirement[] | undefined;
  if (query.fieldSelector) {
    try {
      fieldSelector = parseFieldSelector(query.fieldSelector);
    } catch {
      // the handler reports a malformed selector; authorization sees none
    }
  }
  // a GET without a name lists or watches; a fieldSelector on metadata.name names the object
  if (info.name === '' && info.verb === 'get') {
    info.verb = isTrue(query.watch) ? 'watch' : 'list';
    const byName = fieldSelector?.find((r) => r.key === 'metadata.name' && r.operator === '=')?.values[0];
    if (byName !== undefined && isValidPathSegmentName(byName).length === 0) info.name = byName;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  if (fieldSelector && !verbViaPathPrefix && verbsWithSelectors.has(info.verb)) info.fieldSelector = fieldSelector;
  return info;
}
