/**
 * The ServiceAccount admission plugin on its own, over an in-memory service account cache: which
 * requests it leaves alone, and the deprecated serviceAccount field on create.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError, type KubeObject, type Pod, type ServiceAccount } from '@boundtoken/api';
import { serviceAccountAdmission } from '../../src/admission/service-account.js';
import type { AdmissionRequest, Operation } from '../../src/admission/types.js';
import { configMaps, pods } from '../../src/registry/resources/core.js';
import type { ResourceDef } from '../../src/registry/types.js';
import { memoryCache } from '../authz/memory-cache.js';

const NS = 'team';

function sa(name: string): ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: NS, name } };
}

const plugin = serviceAccountAdmission(memoryCache<ServiceAccount>([sa('default'), sa('lax')]));

function request(operation: Operation, subresource: string, object: KubeObject, def: ResourceDef = pods as ResourceDef): AdmissionRequest {
  return {
    operation,
    def,
    subresource,
    namespace: NS,
    name: object.metadata?.name ?? '',
    user: { name: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'], extra: {} },
    object,
    dryRun: false,
  };
}

/** Runs both phases as the chain does; returns the Status body of a refusal, or undefined. */
async function admit(req: AdmissionRequest): Promise<Record<string, unknown> | undefined> {
  try {
    await plugin.admit?.(req);
    await plugin.validate?.(req);
    return undefined;
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return err.status as unknown as Record<string, unknown>;
  }
}

const secretEnv = { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'foo', key: 'k' } } }] };

describe('requests the plugin leaves alone', () => {
  test('pod updates, other subresources, other resources', async () => {
    const mirrorWithSecret: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: NS, name: 'm', annotations: { 'kubernetes.io/config.mirror': 'x' } },
      spec: { serviceAccountName: 'ghost', containers: [{ name: 'app', image: 'app:1', ...secretEnv }] },
    };
    for (const [operation, subresource] of [['UPDATE', ''], ['UPDATE', 'status'], ['UPDATE', 'ephemeralcontainers'], ['CREATE', 'binding']] as const) {
      const pod = structuredClone(mirrorWithSecret);
      assert.equal(await admit(request(operation, subresource, pod)), undefined, `${operation} ${subresource}`);
      assert.deepEqual(pod, mirrorWithSecret, `${operation} ${subresource}`);
    }
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: NS, name: 'c' } };
    assert.equal(await admit(request('CREATE', '', cm, configMaps as ResourceDef)), undefined);
  });

  test('a create with serviceAccount only: converted, looked up, both fields set', async () => {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: NS, name: 'd' }, spec: { serviceAccount: 'lax', automountServiceAccountToken: false, containers: [{ name: 'app', image: 'app:1' }] } };
    assert.equal(await admit(request('CREATE', '', pod)), undefined);
    assert.equal(pod.spec!.serviceAccountName, 'lax');
    assert.equal(pod.spec!.serviceAccount, 'lax');
  });
});
