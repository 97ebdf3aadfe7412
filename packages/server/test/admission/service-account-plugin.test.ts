/**
 * The ServiceAccount admission plugin on its own, over an in-memory service account cache: the
 * requests the HTTP API does not serve yet (UPDATE of pods/ephemeralcontainers,
 * limitEphemeralContainerSecretReferences) and which requests it leaves alone.
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

function sa(name: string, enforce?: string): ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { namespace: NS, name, ...(enforce !== undefined ? { annotations: { 'kubernetes.io/enforce-mountable-secrets': enforce } } : {}) },
    secrets: [{ name: 'allowed' }],
  };
}

const plugin = serviceAccountAdmission(memoryCache<ServiceAccount>([sa('default'), sa('strict', 'true'), sa('lax')]));

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

function debugPod(serviceAccountName: string | undefined, debug: object): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: NS, name: 'p' },
    spec: {
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}),
      containers: [{ name: 'app', image: 'app:1' }],
      ephemeralContainers: [{ name: 'debugger', image: 'busybox:1', ...debug }],
    },
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
const secretEnvFrom = { envFrom: [{ secretRef: { name: 'foo' } }] };

describe('ServiceAccount admission of pods/ephemeralcontainers updates', () => {
  test('the pod must name a service account that exists (403)', async () => {
    const cases: [string, string | undefined, string][] = [
      ['no service account', undefined, `pods "p" is forbidden: no service account specified for pod ${NS}/p`],
      ['a missing one', 'ghost', `pods "p" is forbidden: error looking up service account ${NS}/ghost: serviceaccount "ghost" not found`],
    ];
    for (const [what, name, message] of cases) {
      const status = await admit(request('UPDATE', 'ephemeralcontainers', debugPod(name, {})));
      assert.equal(status?.code, 403, what);
      assert.equal(status?.reason, 'Forbidden', what);
      assert.equal(status?.message, message, what);
    }
  });

  test('enforced: ephemeral env/envFrom secrets must be listed, refused as a plain (500) error', async () => {
    const cases: [string, object, string][] = [
      ['env', secretEnv, 'ephemeral container debugger with envVar TOKEN referencing secret.secretName="foo" is not allowed because service account strict does not reference that secret'],
      ['envFrom', secretEnvFrom, 'ephemeral container debugger with envFrom referencing secret.secretName="foo" is not allowed because service account strict does not reference that secret'],
    ];
    for (const [what, debug, message] of cases) {
      const status = await admit(request('UPDATE', 'ephemeralcontainers', debugPod('strict', debug)));
      assert.deepEqual(status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code: 500 }, what);
    }
    const listed = { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'allowed', key: 'k' } } }], envFrom: [{ secretRef: { name: 'allowed' } }] };
    assert.equal(await admit(request('UPDATE', 'ephemeralcontainers', debugPod('strict', listed))), undefined);
  });

  test('not enforced: anything goes; the pod is not mutated', async () => {
    const pod = debugPod('lax', { ...secretEnv, ...secretEnvFrom });
    const before = structuredClone(pod);
    assert.equal(await admit(request('UPDATE', 'ephemeralcontainers', pod)), undefined);
    assert.deepEqual(pod, before);
  });
});

describe('requests the plugin leaves alone', () => {
  test('pod updates, other subresources, other resources', async () => {
    const mirrorWithSecret: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: NS, name: 'm', annotations: { 'kubernetes.io/config.mirror': 'x' } },
      spec: { serviceAccountName: 'ghost', containers: [{ name: 'app', image: 'app:1', ...secretEnv }] },
    };
    for (const [operation, subresource] of [['UPDATE', ''], ['UPDATE', 'status'], ['CREATE', 'binding']] as const) {
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
