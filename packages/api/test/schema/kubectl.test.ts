/**
 * The real kubectl (1.31, 1.32, 1.33, picked by the stub's /version) against our OpenAPI documents:
 * explain prints the real field docs, create/apply validate on the server (fieldValidation=Strict
 * from the v3 documents alone), client-side apply patches by the schemas' merge keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { startStub, type Stub } from './kubectl-stub.ts';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: p1
spec:
  containers:
  - name: c
    image: nginx:1
    volumeMounts:
    - name: token
      mountPath: /var/run/secrets/tokens
  volumes:
  - name: token
    projected:
      sources:
      - serviceAccountToken:
          audience: vault
          expirationSeconds: 7200
          path: token
`;

for (const minor of ['31', '32', '33']) {
  describe(`kubectl 1.${minor}`, () => {
    let stub: Stub;
    before(async () => {
      stub = await startStub(minor);
    });
    after(async () => {
      await stub.close();
    });

    test('explain prints the field docs of serviceAccountToken', async () => {
      const out = await stub.kubectl(['explain', 'pod.spec.volumes.projected.sources.serviceAccountToken']);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /KIND:\s+Pod/);
      assert.match(out.stdout, /ServiceAccountTokenProjection represents a projected service account token/);
      assert.match(out.stdout, /expirationSeconds\s+<integer>/);
      assert.match(out.stdout, /path\s+<string> -required-/);
      assert.ok(stub.requests.some((r) => r.path === '/openapi/v3/api/v1'));
    });

    test('apply -f creates, then patches by container name, validating on the server', async () => {
      const file = stub.file('pod.yaml', POD);
      const first = await stub.kubectl(['apply', '-f', file]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /pod\/p1 created/);
      const post = stub.requests.find((r) => r.method === 'POST');
      assert.equal(post?.query.get('fieldValidation'), 'Strict');
      assert.equal(post?.query.get('fieldManager'), 'kubectl-client-side-apply');

      const second = await stub.kubectl(['apply', '-f', stub.file('pod2.yaml', POD.replace('nginx:1', 'nginx:2'))]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /pod\/p1 configured/);
      const patch = stub.requests.find((r) => r.method === 'PATCH');
      assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
      assert.equal(patch?.query.get('fieldValidation'), 'Strict');
      const body = JSON.parse(patch!.body) as { spec: Record<string, unknown> };
      assert.deepEqual(body.spec['$setElementOrder/containers'], [{ name: 'c' }]);
      const stored = stub.objects.get('pods/default/p1') as { spec: { containers: { image: string; volumeMounts: unknown[] }[] } };
      assert.equal(stored.spec.containers[0]!.image, 'nginx:2');
      assert.equal(stored.spec.containers[0]!.volumeMounts.length, 1);
      assert.ok(!stub.requests.some((r) => r.path === '/openapi/v2'), 'Pod needs no /openapi/v2');
    });

    test('create -f with an unknown field gets the strict decoding error', async () => {
      const out = await stub.kubectl(['create', '-f', stub.file('bad.yaml', POD.replace('name: p1', 'name: p2').replace('  containers:', '  foo: 1\n  containers:'))]);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"/);
    });
  });
}

for (const minor of ['31', '32', '33']) {
  describe(`kubectl 1.${minor} apply --server-side`, () => {
    let stub: Stub;
    before(async () => {
      stub = await startStub(minor);
    });
    after(async () => {
      await stub.close();
    });

    test('takes over a client-side applied object, then conflicts with another manager', async () => {
      const created = await stub.kubectl(['apply', '-f', stub.file('pod.yaml', POD)]);
      assert.equal(created.code, 0, created.stderr);
      const csa = stub.objects.get('pods/default/p1')!;
      assert.deepEqual(csa.metadata!.managedFields!.map((e) => [e.manager, e.operation]), [['kubectl-client-side-apply', 'Update']]);

      const ssa = await stub.kubectl(['apply', '--server-side', '-f', stub.file('pod2.yaml', POD.replace('nginx:1', 'nginx:2'))]);
      assert.equal(ssa.code, 0, ssa.stderr);
      assert.match(ssa.stdout, /pod\/p1 serverside-applied/);
      const apply = stub.requests.find((r) => r.contentType === 'application/apply-patch+yaml');
      assert.equal(apply?.query.get('fieldManager'), 'kubectl');
      const stored = stub.objects.get('pods/default/p1') as KubeObject & { spec: { containers: { image: string }[] } };
      assert.equal(stored.spec.containers[0]!.image, 'nginx:2');
      const kubectl = stored.metadata!.managedFields!.find((e) => e.manager === 'kubectl');
      assert.equal(kubectl?.operation, 'Apply');
      const lastApplied = JSON.parse(stored.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration']!) as { spec: { containers: { image: string }[] } };
      assert.equal(lastApplied.spec.containers[0]!.image, 'nginx:2');

      const other = await stub.kubectl(['apply', '--server-side', '--field-manager=other', '-f', stub.file('pod3.yaml', POD.replace('nginx:1', 'nginx:3'))]);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.containers\[name="c"\]\.image/);
      const forced = await stub.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=other', '-f', stub.file('pod3.yaml', POD.replace('nginx:1', 'nginx:3'))]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((stub.objects.get('pods/default/p1') as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image, 'nginx:3');
    });
  });
}
