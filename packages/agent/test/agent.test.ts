import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ConfigMap, Event, Lease, Node, Pod, TokenRequest } from '@boundtoken/api';
import { volumeDir } from '../src/pod-worker.ts';
import { FakeApiError } from './fake-kube.ts';
import { kubeApiAccess, NODE, podSpec, ROOT_CA, startAgent, waitFor } from './helpers.ts';

const PODS = '/api/v1/namespaces/shop/pods';

function volDir(root: string, uid: string, vol = 'kube-api-access-abcde'): string {
  return volumeDir(root, uid, 'kubernetes.io~projected', vol);
}

function condition(pod: Pod | undefined, type: string) {
  return pod?.status?.conditions?.find((c) => c.type === type);
}

describe('agent: node', () => {
  test('registers the node Ready with a lease, and reports NotReady when stopped', async () => {
    const env = await startAgent();
    try {
      const node = env.kube.read<Node>(`/api/v1/nodes/${NODE}`)!;
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True');
      assert.equal(ready?.reason, 'KubeletReady');
      assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], NODE);
      assert.ok(node.status?.allocatable?.cpu);
      const lease = await waitFor(
        () => env.kube.read<Lease>(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`),
        'the node lease',
      );
      assert.equal(lease.spec?.holderIdentity, NODE);
      assert.match(lease.spec?.renewTime ?? '', /\.\d{6}Z$/);
    } finally {
      await env.agent.stop();
    }
    const node = env.kube.read<Node>(`/api/v1/nodes/${NODE}`)!;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'AgentStopped');
    await env.cleanup();
  });

  test('takes over an existing Node object', async () => {
    const env = await startAgent({}, (kube) => {
      kube.put(`/api/v1/nodes/${NODE}`, { metadata: { name: NODE }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
    });
    try {
      const node = env.kube.read<Node>(`/api/v1/nodes/${NODE}`)!;
      assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    } finally {
      await env.cleanup();
    }
  });
});

describe('agent: pods', () => {
  test('materialises kube-api-access: token, ca.crt, namespace; reports status honestly', async () => {
    const env = await startAgent();
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      const uid = pod.metadata!.uid!;
      const dir = volDir(env.root, uid);
      await waitFor(() => existsSync(join(dir, 'namespace')), 'the volume files');
      assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), ROOT_CA);
      assert.equal(await readFile(join(dir, 'namespace'), 'utf8'), 'shop');
      const token = await readFile(join(dir, 'token'), 'utf8');
      assert.match(token, /^token-\d+-builder-web$/);
      assert.equal((await stat(join(dir, 'token'))).mode & 0o777, 0o644);
      assert.match(await readlink(join(dir, '..data')), /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);

      const tokenCall = env.kube.calls.find((c) => c.method === 'POST' && c.path.endsWith('/serviceaccounts/builder/token'))!;
      const tr = tokenCall.body as TokenRequest;
      assert.deepEqual(tr.spec.boundObjectRef, { apiVersion: 'v1', kind: 'Pod', name: 'web', uid });
      assert.equal(tr.spec.expirationSeconds, 3607);

      const status = await waitFor(() => {
        const p = env.kube.read<Pod>(`${PODS}/web`);
        return condition(p, 'PodReadyToStartContainers')?.status === 'True' ? p : undefined;
      }, 'the pod status');
      assert.equal(status.status?.phase, 'Pending');
      assert.equal(condition(status, 'Ready')?.status, 'False');
      assert.equal(condition(status, 'Ready')?.reason, 'ContainersNotRun');
      assert.equal(condition(status, 'PodScheduled')?.status, 'True');
      assert.equal(status.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainersNotRun');
      assert.match(status.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /runs no containers/);
      assert.equal(status.status?.hostIP, '127.0.0.1');
    } finally {
      await env.cleanup();
    }
  });

  test('a volume that cannot be set up: FailedMount events (aggregated), backoff, recovery', async () => {
    const env = await startAgent();
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web', [kubeApiAccess()], { serviceAccountName: 'missing' }));
      const uid = pod.metadata!.uid!;
      const events = () => [...env.kube.objects.values()].filter((o) => o.kind === 'Event') as unknown as Event[];
      const ev = await waitFor(() => events().find((e) => (e.count ?? 0) >= 3), 'repeated FailedMount events');
      assert.equal(events().length, 1, 'repeats bump one Event');
      assert.equal(ev.type, 'Warning');
      assert.equal(ev.reason, 'FailedMount');
      assert.equal(
        ev.message,
        'MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: serviceaccounts "missing" not found',
      );
      assert.deepEqual(ev.source, { component: 'kubelet', host: NODE });
      assert.equal(ev.involvedObject.uid, uid);
      assert.equal(existsSync(join(volDir(env.root, uid), 'ca.crt')), false, 'nothing written while a source fails');
      const p = env.kube.read<Pod>(`${PODS}/web`);
      assert.equal(condition(p, 'PodReadyToStartContainers')?.status, 'False');
      assert.equal(p?.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');
      assert.equal(env.logs.filter((l) => l.msg.startsWith('volume setup failed')).length, 1, 'logged once per streak');

      // backoff: the attempts slow down
      const attempts = () => env.kube.calls.filter((c) => c.path.endsWith('/serviceaccounts/missing/token')).map(() => Date.now());
      const n0 = attempts().length;
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(attempts().length - n0 <= 4, `backoff (max 80 ms) allows few attempts in 200 ms, saw ${attempts().length - n0}`);

      env.kube.put('/api/v1/namespaces/shop/serviceaccounts/missing', { metadata: { name: 'missing' } });
      await waitFor(() => existsSync(join(volDir(env.root, uid), 'token')), 'the volume after the service account appears');
      await waitFor(() => condition(env.kube.read<Pod>(`${PODS}/web`), 'PodReadyToStartContainers')?.status === 'True', 'ready');
      assert.ok(env.logs.some((l) => l.msg === 'volume set up after failures'));
    } finally {
      await env.cleanup();
    }
  });

  test('configMap changes reach the files without waiting for the sync period', async () => {
    const env = await startAgent({ syncFrequencyMs: 600_000 });
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      const dir = volDir(env.root, pod.metadata!.uid!);
      await waitFor(() => existsSync(join(dir, 'ca.crt')), 'ca.crt');
      env.kube.put<ConfigMap>('/api/v1/namespaces/shop/configmaps/kube-root-ca.crt', {
        metadata: { name: 'kube-root-ca.crt' },
        data: { 'ca.crt': 'ROTATED' },
      });
      await waitFor(async () => (await readFile(join(dir, 'ca.crt'), 'utf8')) === 'ROTATED', 'the new ca.crt');
      assert.equal(env.kube.watchers >= 2, true, 'a pod informer and a configmap watch');
    } finally {
      await env.cleanup();
    }
  });

  test('a token past 80 % is replaced in place; a failed refresh keeps the old token', async () => {
    let n = 0;
    let failing = false;
    const env = await startAgent({ tokenRefreshQps: Infinity }, (kube) => {
      // tokens issued "long ago": 3607 s lifetime, 80 % mark 150 ms from now
      kube.tokenHandler = (_ns, _sa, tr) => {
        if (failing) throw new FakeApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
        return {
          ...tr,
          spec: { ...tr.spec, expirationSeconds: 3607 },
          status: { token: `gen-${++n}`, expirationTimestamp: new Date(Date.now() + 721_000 + 150).toISOString() },
        };
      };
    });
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      const dir = volDir(env.root, pod.metadata!.uid!);
      await waitFor(async () => (await readFile(join(dir, 'token'), 'utf8')) === 'gen-1', 'the first token');
      await waitFor(async () => (await readFile(join(dir, 'token'), 'utf8')) === 'gen-2', 'the refreshed token', 2000);
      failing = true;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await readFile(join(dir, 'token'), 'utf8'), 'gen-2', 'the still-valid token stays');
      assert.equal(env.logs.filter((l) => /Couldn't update token/.test(l.msg)).length, 1, 'logged once');
      assert.equal(
        [...env.kube.objects.values()].filter((o) => o.kind === 'Event').length,
        0,
        'a stale-but-valid token is no mount failure',
      );
      failing = false;
      await waitFor(async () => (await readFile(join(dir, 'token'), 'utf8')) === `gen-${n}` && n >= 3, 'recovery', 5000);
    } finally {
      await env.cleanup();
    }
  });

  test('status is written only when it changes', async () => {
    const env = await startAgent({ syncFrequencyMs: 20 });
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      await waitFor(() => (env.agent.podState(pod.metadata!.uid!)?.syncs ?? 0) >= 8, 'several syncs');
      const writes = env.kube.calls.filter((c) => c.method === 'PATCH' && c.path === `${PODS}/web/status`);
      assert.equal(writes.length, 1);
    } finally {
      await env.cleanup();
    }
  });

  test('graceful deletion: directory removed, tokens dropped, deletion confirmed with a UID precondition', async () => {
    const env = await startAgent();
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      const uid = pod.metadata!.uid!;
      await waitFor(() => existsSync(join(volDir(env.root, uid), 'token')), 'the token');
      assert.equal(env.agent.tokens.stats().entries, 1);
      env.kube.requestDeletion(`${PODS}/web`);
      await waitFor(() => !env.kube.read(`${PODS}/web`), 'the pod to be deleted');
      assert.equal(existsSync(join(env.root, 'pods', uid)), false);
      assert.equal(env.agent.tokens.stats().entries, 0);
      const del = env.kube.calls.find((c) => c.method === 'DELETE')!;
      assert.equal(del.path, `${PODS}/web`);
      assert.deepEqual(del.body, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } });
      await waitFor(() => env.agent.stats().pods === 0, 'the worker to go');
      assert.equal(env.kube.watchers, 1, 'the configmap watch is released');
    } finally {
      await env.cleanup();
    }
  });

  test('a pod removed outright (force delete) is torn down too', async () => {
    const env = await startAgent();
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web'));
      const uid = pod.metadata!.uid!;
      await waitFor(() => existsSync(join(volDir(env.root, uid), 'token')), 'the token');
      env.kube.remove(`${PODS}/web`);
      await waitFor(() => !existsSync(join(env.root, 'pods', uid)), 'the directory to go');
      assert.equal(env.agent.tokens.stats().entries, 0);
    } finally {
      await env.cleanup();
    }
  });

  test('pods of other nodes are ignored', async () => {
    const env = await startAgent();
    try {
      const other = env.kube.put(`${PODS}/elsewhere`, podSpec('elsewhere', [kubeApiAccess()], { nodeName: 'node-2' }));
      const mine = env.kube.put(`${PODS}/mine`, podSpec('mine'));
      await waitFor(() => existsSync(join(volDir(env.root, mine.metadata!.uid!), 'token')), 'my pod');
      assert.equal(existsSync(join(env.root, 'pods', other.metadata!.uid!)), false);
    } finally {
      await env.cleanup();
    }
  });

  test('on start: directories of pods no longer bound here are removed, bound ones kept', async () => {
    let keptUID = '';
    const env = await startAgent({}, async (kube, root) => {
      keptUID = kube.put(`${PODS}/kept`, podSpec('kept')).metadata!.uid!;
      await mkdir(join(root, 'pods', 'gone-uid', 'volumes', 'kubernetes.io~projected', 'v'), { recursive: true });
      const kept = volDir(root, keptUID);
      await mkdir(kept, { recursive: true });
      await writeFile(join(kept, 'marker'), 'x');
    });
    try {
      assert.deepEqual((await readdir(join(env.root, 'pods'))).sort(), [keptUID]);
      await waitFor(() => existsSync(join(volDir(env.root, keptUID), 'token')), 'the kept pod');
    } finally {
      await env.cleanup();
    }
  });

  test('fsGroup: token 0640 with the pod group; other files keep defaultMode', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const env = await startAgent();
    try {
      const pod = env.kube.put(`${PODS}/web`, podSpec('web', [kubeApiAccess()], { securityContext: { fsGroup: 3000 } }));
      const dir = volDir(env.root, pod.metadata!.uid!);
      await waitFor(() => existsSync(join(dir, 'namespace')), 'the files');
      const token = await stat(join(dir, 'token'));
      assert.equal(token.mode & 0o777, 0o640);
      assert.equal(token.gid, 3000);
      assert.equal((await stat(join(dir, 'ca.crt'))).mode & 0o777, 0o644);
    } finally {
      await env.cleanup();
    }
  });

  test('bad input: a pod UID that is no safe path segment is ignored, nothing is written outside the root', async () => {
    const env = await startAgent();
    try {
      env.kube.put(`${PODS}/evil`, { ...podSpec('evil'), metadata: { name: 'evil', namespace: 'shop', uid: '../../escape' } });
      const good = env.kube.put(`${PODS}/good`, podSpec('good'));
      await waitFor(() => existsSync(join(volDir(env.root, good.metadata!.uid!), 'token')), 'the good pod');
      assert.deepEqual(await readdir(join(env.root, 'pods')), [good.metadata!.uid!]);
      assert.equal(existsSync(join(env.root, '..', 'escape')), false);
    } finally {
      await env.cleanup();
    }
  });

  test('pod watch failures are logged once per streak', async () => {
    const env = await startAgent();
    try {
      env.kube.failWatches(new Error('connection reset'));
      env.kube.failWatches(new Error('connection refused'));
      const warnings = () => env.logs.filter((l) => l.msg === 'the pod watch failed; retrying');
      assert.equal(warnings().length, 1);
      env.kube.put(`${PODS}/web`, podSpec('web'));
      await waitFor(() => env.logs.some((l) => l.msg === 'the pod watch works again'), 'recovery logged');
      env.kube.failWatches(new Error('again'));
      assert.equal(warnings().length, 2, 'a new streak logs again');
    } finally {
      await env.cleanup();
    }
  });

  test('API errors while writing status are retried', async () => {
    let fail = 2;
    const env = await startAgent({}, (kube) => {
      kube.fault = (call) =>
        call.method === 'PATCH' && call.path.endsWith('/status') && call.path.includes('/pods/') && fail-- > 0
          ? new FakeApiError(500, 'InternalError', 'boom')
          : undefined;
    });
    try {
      env.kube.put(`${PODS}/web`, podSpec('web'));
      await waitFor(() => condition(env.kube.read<Pod>(`${PODS}/web`), 'PodReadyToStartContainers')?.status === 'True', 'status');
    } finally {
      await env.cleanup();
    }
  });
});
