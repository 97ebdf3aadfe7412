import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { openApiHash, openApiV3Document, openApiV3Index, openApiV3Path, type OpenApiResource } from '@boundtoken/api/schema';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, unknown> }; 'x-kubernetes-action'?: string; 'x-kubernetes-group-version-kind'?: unknown; responses?: Record<string, { content: Record<string, { schema: { $ref: string } }> }> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

const CORE: OpenApiResource[] = [
  {
    kind: 'Pod',
    resource: 'pods',
    namespaced: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
    ],
  },
  {
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    namespaced: true,
    verbs: ['create', 'get', 'list', 'patch'],
    subresources: [{ name: 'token', kind: 'TokenRequest', verbs: ['create'] }],
  },
  { kind: 'Node', resource: 'nodes', namespaced: false, verbs: ['get', 'list', 'watch'] },
];

describe('openApiV3Document', () => {
  const doc = openApiV3Document({ group: '', version: 'v1' }, CORE) as Doc;

  test('a PATCH operation per kind with fieldValidation and the four patch types (what kubectl checks)', () => {
    const patch = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}']!.patch!;
    assert.equal(patch.operationId, 'patchCoreV1NamespacedPod');
    assert.equal(patch['x-kubernetes-action'], 'patch');
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', kind: 'Pod', version: 'v1' });
    assert.ok(patch.parameters!.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok(patch.parameters!.some((p) => p.name === 'force' && p.in === 'query'));
    assert.deepEqual(Object.keys(patch.requestBody!.content), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
  });

  test('operations as the verbs allow', () => {
    assert.deepEqual(Object.keys(doc.paths['/api/v1/namespaces/{namespace}/pods']!).sort(), ['delete', 'get', 'parameters', 'post']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/nodes/{name}']!).sort(), ['get', 'parameters']);
    assert.equal(doc.paths['/api/v1/nodes']!.get!.operationId, 'listCoreV1Node');
    assert.equal(doc.paths['/api/v1/pods']!.get!.operationId, 'listCoreV1PodForAllNamespaces');
    assert.equal(doc.paths['/api/v1/watch/namespaces/{namespace}/pods/{name}']!.get!['x-kubernetes-action'], 'watch');
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/serviceaccounts']!.delete, undefined);
    const list = doc.paths['/api/v1/namespaces/{namespace}/pods']!.get!;
    for (const p of ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch']) {
      assert.ok(list.parameters!.some((x) => x.name === p), p);
    }
    const pathParams = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}']!.parameters as unknown as { name: string }[];
    assert.ok(pathParams.some((p) => p.name === 'pretty'));
  });

  test('subresources carry their own kind', () => {
    const token = doc.paths['/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token']!.post!;
    assert.equal(token.operationId, 'createCoreV1NamespacedServiceAccountToken');
    assert.deepEqual(token['x-kubernetes-group-version-kind'], { group: 'authentication.k8s.io', kind: 'TokenRequest', version: 'v1' });
    assert.equal(token.responses!['201']!.content['application/json']!.schema.$ref, '#/components/schemas/io.k8s.api.authentication.v1.TokenRequest');
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/status']!.patch!.operationId, 'patchCoreV1NamespacedPodStatus');
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/binding']!.post!.operationId, 'createCoreV1NamespacedPodBinding');
  });

  test('every $ref resolves within the document; references with siblings are wrapped in allOf', () => {
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, e] of Object.entries(v)) {
          if (k === '$ref') {
            refs.push(e as string);
            assert.equal(Object.keys(v).length, 1, `$ref with siblings: ${JSON.stringify(v).slice(0, 80)}`);
          } else walk(e);
        }
      }
    };
    walk(doc);
    assert.ok(refs.length > 100);
    for (const r of refs) assert.ok(doc.components.schemas[r.replace('#/components/schemas/', '')], r);
    const metadata = (doc.components.schemas['io.k8s.api.core.v1.Pod']!.properties as Record<string, unknown>).metadata;
    assert.deepEqual((metadata as { allOf: unknown }).allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    assert.ok(doc.components.schemas['io.k8s.api.core.v1.ServiceAccountTokenProjection']);
    assert.equal(doc.components.schemas['io.k8s.api.rbac.v1.Role'], undefined, 'only what this group-version references');
  });

  test('named groups, tags and operation ids', () => {
    const rbac = openApiV3Document({ group: 'rbac.authorization.k8s.io', version: 'v1' }, [
      { kind: 'ClusterRole', resource: 'clusterroles', namespaced: false, verbs: ['patch'] },
    ]) as Doc;
    const op = rbac.paths['/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}']!.patch! as { operationId: string; tags?: string[] };
    assert.equal(op.operationId, 'patchRbacAuthorizationV1ClusterRole');
    assert.deepEqual(op.tags, ['rbacAuthorization_v1']);
    const reviews = openApiV3Document({ group: 'authentication.k8s.io', version: 'v1' }, [
      { kind: 'TokenReview', resource: 'tokenreviews', namespaced: false, verbs: ['create'] },
    ]) as Doc;
    assert.equal(reviews.paths['/apis/authentication.k8s.io/v1/tokenreviews']!.post!.operationId, 'createAuthenticationV1TokenReview');
  });

  test('unknown kinds are caller misuse', () => {
    assert.throws(() => openApiV3Document({ group: 'apps', version: 'v1' }, [{ kind: 'Deployment', resource: 'deployments', namespaced: true, verbs: ['get'] }]), TypeError);
  });

  test('documents are cached and stable', () => {
    assert.equal(openApiV3Document({ group: '', version: 'v1' }, CORE), doc);
    assert.equal(JSON.stringify(openApiV3Document({ group: '', version: 'v1' }, structuredClone(CORE))), JSON.stringify(doc));
  });
});

test('openApiV3Index points at each document with its hash', () => {
  const body = JSON.stringify(openApiV3Document({ group: '', version: 'v1' }, CORE));
  const hash = openApiHash(body);
  assert.equal(hash, createHash('sha512').update(body).digest('hex').toUpperCase());
  assert.equal(openApiV3Path({ group: '', version: 'v1' }), 'api/v1');
  assert.equal(openApiV3Path({ group: 'coordination.k8s.io', version: 'v1' }), 'apis/coordination.k8s.io/v1');
  assert.deepEqual(openApiV3Index([{ path: 'apis/authentication.k8s.io/v1', hash: 'B' }, { path: 'api/v1', hash }]), {
    paths: {
      'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${hash}` },
      'apis/authentication.k8s.io/v1': { serverRelativeURL: '/openapi/v3/apis/authentication.k8s.io/v1?hash=B' },
    },
  });
  assert.throws(() => openApiV3Index([{ path: '/api/v1', hash }]), TypeError);
});
