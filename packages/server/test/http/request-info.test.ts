/**
 * RequestInfo: what a request is about, for every URL shape Kubernetes' RequestInfoFactory knows
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go and its test table).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestInfo } from '../../src/http/request-info.js';

function parse(method: string, url: string): ReturnType<typeof requestInfo> {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query: Record<string, string> = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!(k in query)) query[k] = v;
  return requestInfo(method, path, query);
}

describe('resource requests', () => {
  // method, url, verb, group, version, namespace, resource, subresource, name
  const cases: [string, string, string, string, string, string, string, string, string][] = [
    // the namespaces' own paths
    ['GET', '/api/v1/namespaces', 'list', '', 'v1', '', 'namespaces', '', ''],
    ['GET', '/api/v1/namespaces/other', 'get', '', 'v1', 'other', 'namespaces', '', 'other'],
    ['PATCH', '/api/v1/namespaces/new-namespace', 'patch', '', 'v1', 'new-namespace', 'namespaces', '', 'new-namespace'],
    ['DELETE', '/api/v1/namespaces/other', 'delete', '', 'v1', 'other', 'namespaces', '', 'other'],
    ['PUT', '/api/v1/namespaces/other/finalize', 'update', '', 'v1', 'other', 'namespaces', 'finalize', 'other'],
    ['PUT', '/api/v1/namespaces/other/status', 'update', '', 'v1', 'other', 'namespaces', 'status', 'other'],
    ['GET', '/api/v1/namespaces/other/status', 'get', '', 'v1', 'other', 'namespaces', 'status', 'other'],
    // namespaced resources
    ['GET', '/api/v1/namespaces/other/pods', 'list', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods/foo', 'get', '', 'v1', 'other', 'pods', '', 'foo'],
    ['HEAD', '/api/v1/namespaces/other/pods/foo', 'get', '', 'v1', 'other', 'pods', '', 'foo'],
    ['POST', '/api/v1/namespaces/other/pods', 'create', '', 'v1', 'other', 'pods', '', ''],
    ['PUT', '/api/v1/namespaces/other/pods/foo', 'update', '', 'v1', 'other', 'pods', '', 'foo'],
    ['PATCH', '/api/v1/namespaces/other/pods/foo', 'patch', '', 'v1', 'other', 'pods', '', 'foo'],
    ['DELETE', '/api/v1/namespaces/other/pods/foo', 'delete', '', 'v1', 'other', 'pods', '', 'foo'],
    ['DELETE', '/api/v1/namespaces/other/pods', 'deletecollection', '', 'v1', 'other', 'pods', '', ''],
    // across namespaces and cluster-scoped
    ['GET', '/api/v1/pods', 'list', '', 'v1', '', 'pods', '', ''],
    ['HEAD', '/api/v1/pods', 'list', '', 'v1', '', 'pods', '', ''],
    ['GET', '/api/v1/nodes/n1', 'get', '', 'v1', '', 'nodes', '', 'n1'],
    ['DELETE', '/api/v1/nodes', 'deletecollection', '', 'v1', '', 'nodes', '', ''],
    ['DELETE', '/api/v1/namespaces', 'deletecollection', '', 'v1', '', 'namespaces', '', ''],
    // subresources
    ['GET', '/api/v1/namespaces/other/pods/foo/status', 'get', '', 'v1', 'other', 'pods', 'status', 'foo'],
    ['PUT', '/api/v1/nodes/n1/status', 'update', '', 'v1', '', 'nodes', 'status', 'n1'],
    ['POST', '/api/v1/namespaces/ns/serviceaccounts/default/token', 'create', '', 'v1', 'ns', 'serviceaccounts', 'token', 'default'],
    ['POST', '/api/v1/namespaces/ns/pods/p/binding', 'create', '', 'v1', 'ns', 'pods', 'binding', 'p'],
    ['GET', '/api/v1/namespaces/other/pods/foo/proxy/subpath', 'get', '', 'v1', 'other', 'pods', 'proxy', 'foo'],
    // groups and versions
    ['POST', '/apis/authentication.k8s.io/v1/tokenreviews', 'create', 'authentication.k8s.io', 'v1', '', 'tokenreviews', '', ''],
    ['POST', '/apis/authentication.k8s.io/v1beta1/selfsubjectreviews', 'create', 'authentication.k8s.io', 'v1beta1', '', 'selfsubjectreviews', '', ''],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin', 'get', 'rbac.authorization.k8s.io', 'v1', '', 'clusterroles', '', 'admin'],
    ['DELETE', '/apis/extensions/v1/namespaces/other/pods', 'deletecollection', 'extensions', 'v1', 'other', 'pods', '', ''],
    ['POST', '/apis/extensions/v1beta3/namespaces/other/pods', 'create', 'extensions', 'v1beta3', 'other', 'pods', '', ''],
    // the watch parameter: any value but 0/false means watch (Convert_Slice_string_To_bool)
    ['GET', '/api/v1/pods?watch=true', 'watch', '', 'v1', '', 'pods', '', ''],
    ['GET', '/api/v1/pods?watch=false', 'list', '', 'v1', '', 'pods', '', ''],
    ['GET', '/api/v1/pods?watch=FALSE', 'list', '', 'v1', '', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?watch=1', 'watch', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?watch=0', 'list', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?watch=yes', 'watch', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?watch=', 'watch', '', 'v1', 'other', 'pods', '', ''],
    // a named GET stays a get whatever ?watch says
    ['GET', '/api/v1/namespaces/other/pods/foo?watch=1', 'get', '', 'v1', 'other', 'pods', '', 'foo'],
    // the deprecated /watch/ prefix
    ['GET', '/api/v1/watch/pods', 'watch', '', 'v1', '', 'pods', '', ''],
    ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/watch/namespaces/other/pods/foo', 'watch', '', 'v1', 'other', 'pods', '', 'foo'],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/watch/clusterroles', 'watch', 'rbac.authorization.k8s.io', 'v1', '', 'clusterroles', '', ''],
    // fieldSelector metadata.name names the object for list and watch
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo', 'list', '', 'v1', 'other', 'pods', '', 'foo'],
    ['GET', '/api/v1/namespaces/other/pods?watch=true&fieldSelector=metadata.name%3Dfoo', 'watch', '', 'v1', 'other', 'pods', '', 'foo'],
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3D%3Dfoo', 'list', '', 'v1', 'other', 'pods', '', 'foo'],
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%21%3Dfoo', 'list', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=spec.nodeName%3Dn1', 'list', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dname1,foo', 'list', '', 'v1', 'other', 'pods', '', ''],
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dname1,foo&watch=true', 'watch', '', 'v1', 'other', 'pods', '', ''],
    // a name that is not a valid path segment is not taken
    ['GET', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Da%2Fb', 'list', '', 'v1', 'other', 'pods', '', ''],
    // a fieldSelector never turns a delete into a named one
    ['DELETE', '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo', 'deletecollection', '', 'v1', 'other', 'pods', '', ''],
  ];
  for (const [method, url, verb, apiGroup, apiVersion, namespace, resource, subresource, name] of cases) {
    test(`${method} ${url}`, () => {
      const info = parse(method, url);
      assert.equal(info.resourceRequest, true);
      assert.deepEqual(
        { verb: info.verb, apiGroup: info.apiGroup, apiVersion: info.apiVersion, namespace: info.namespace, resource: info.resource, subresource: info.subresource, name: info.name },
        { verb, apiGroup, apiVersion, namespace, resource, subresource, name },
      );
      assert.equal(info.apiPrefix, url.startsWith('/apis/') ? 'apis' : 'api');
    });
  }

  test('parts after the subresource are kept', () => {
    assert.deepEqual(parse('GET', '/api/v1/namespaces/other/pods/foo/proxy/sub/path').parts, ['sub', 'path']);
  });

  test('the deprecated /watch/ prefix sets the verb whatever the method', () => {
    assert.equal(parse('POST', '/api/v1/watch/pods').verb, 'watch');
  });

  test('an unknown method has the method as its verb', () => {
    assert.equal(parse('OPTIONS', '/api/v1/pods').verb, 'options');
  });
});

describe('selectors for authorization', () => {
  test('list, watch and deletecollection carry the parsed field selector', () => {
    for (const [method, url] of [
      ['GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1'],
      ['GET', '/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1'],
      ['DELETE', '/api/v1/namespaces/ns/pods?fieldSelector=spec.nodeName%3Dn1'],
    ] as const) {
      assert.deepEqual(parse(method, url).fieldSelector, [{ key: 'spec.nodeName', operator: '=', values: ['n1'] }], url);
    }
  });

  test('other verbs, the /watch/ prefix and malformed selectors carry none', () => {
    for (const [method, url] of [
      ['GET', '/api/v1/namespaces/ns/pods/p?fieldSelector=spec.nodeName%3Dn1'],
      ['POST', '/api/v1/namespaces/ns/pods?fieldSelector=spec.nodeName%3Dn1'],
      ['GET', '/api/v1/watch/pods?fieldSelector=spec.nodeName%3Dn1'],
      ['GET', '/api/v1/pods?fieldSelector=spec.nodeName'],
    ] as const) {
      assert.equal(parse(method, url).fieldSelector, undefined, url);
    }
  });
});

describe('non-resource requests', () => {
  const cases = [
    '/',
    '',
    '/api',
    '/api/v1',
    '/api/v1/',
    '/apis',
    '/apis/authentication.k8s.io',
    '/apis/authentication.k8s.io/v1',
    '/apis/authentication.k8s.io/v1/',
    '/apis/v1/pods',
    '/healthz',
    '/livez/ping',
    '/version',
    '/openapi/v3/api/v1',
    '/.well-known/openid-configuration',
    '/openid/v1/jwks',
    '/not-api/version/resource',
  ];
  for (const path of cases) {
    test(`GET ${JSON.stringify(path)}`, () => {
      const info = requestInfo('GET', path, {});
      assert.equal(info.resourceRequest, false);
      assert.equal(info.verb, 'get');
      assert.equal(info.path, path);
      assert.equal(info.resource, '');
    });
  }

  test('the verb is the lower-case method', () => {
    assert.equal(requestInfo('POST', '/healthz', {}).verb, 'post');
    assert.equal(requestInfo('PUT', '/api', {}).verb, 'put');
  });

  test('paths that look like resources are resources', () => {
    for (const path of ['/api/version/resource', '/apis/group/version/resource/name/subresource', '/apis/batch/v1/job/foo/scale']) {
      assert.equal(requestInfo('GET', path, {}).resourceRequest, true, path);
    }
  });
});
