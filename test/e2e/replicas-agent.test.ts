/**
 * Issue #7: a node agent whose API endpoint is a loopback TCP load balancer in front of two server
 * replicas (over one etcd) survives the death of the replica it talks to: it reconnects through
 * the balancer to the other one and goes on — its watches deliver again (a new pod gets its token
 * volume, a changed configMap reaches the pod's files, a deleted pod's volumes go), its Node
 * heartbeats continue, and the tokens it fetches after the failover are valid.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { cleanup, mintKubeconfig, startProcess, tempDir, waitFor, type RunningProcess } from './harness.ts';
import { AUDIENCE, createNamespace, review } from './replica-api.ts';
import { startLoadBalancer, startReplicaSet, type LoadBalancer, type Replica, type ReplicaSet } from './replicas-harness.ts';

const NS = 'apps';
const NODE = 'n1';

function podWithVolume(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: NODE,
      serviceAccountName: 'default',
      automountServiceAccountToken: false,
      containers: [{ name: 'app', image: 'example.com/app:1', volumeMounts: [{ name: 'creds', mountPath: '/var/run/creds' }] }],
      volumes: [
        {
          name: 'creds',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token', audience: AUDIENCE, expirationSeconds: 600 } },
              { configMap: { name: 'settings', items: [{ key: 'mode', path: 'mode' }] } },
            ],
          },
        },
      ],
    },
  };
}

describe('issue #7: an agent behind a load balancer fails over to the surviving replica', { timeout: 120_000 }, () => {
  let set: ReplicaSet;
  let lb: LoadBalancer;
  let agent: RunningProcess | undefined;
  const root = tempDir('agent-root');
  before(async () => {
    set = await startReplicaSet({ etcdMembers: 1, replicas: 2 });
    lb = await startLoadBalancer(set.replicas);
  });
  after(async () => {
    await agent?.stop();
    await lb?.close();
    await set?.stop();
    cleanup(root);
  });

  test('the agent keeps projecting valid tokens after the replica it used dies', async () => {
    const [A, B] = set.replicas as [Replica, Replica];
    await createNamespace(B.api, NS);
    const settings = await B.api.request(`/api/v1/namespaces/${NS}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'one' } } });
    assert.equal(settings.status, 201);

    const kubeconfig = await mintKubeconfig({ dataDir: set.dataDir, url: lb.url }, `system:node:${NODE}`, ['system:nodes'], join(set.dataDir, 'node.kubeconfig'));
    agent = startProcess(['agent', '--kubeconfig', kubeconfig, '--node-name', NODE, '--root-dir', root, '--log-level', 'warn', '--node-status-update-frequency', '1s']);
    const volume = (uid: string): string => join(root, 'pods', uid, 'volumes', 'kubernetes.io~projected', 'creds');

    const first = await A.api.request(`/api/v1/namespaces/${NS}/pods`, { body: podWithVolume('first') });
    assert.equal(first.status, 201, first.body);
    const firstUid = first.json<KubeObject>().metadata!.uid!;
    await waitFor('the first pod’s token on disk', () => existsSync(join(volume(firstUid), 'token')), 30_000);
    assert.equal(readFileSync(join(volume(firstUid), 'mode'), 'utf8'), 'one');
    assert.ok(lb.connections[0]! > 0, 'the agent talks to replica A through the balancer');
    assert.equal(lb.connections[1], 0);

    // the replica the agent is connected to dies
    await A.kill('SIGKILL');
    const heartbeat = async (): Promise<string> =>
      (await B.api.request(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`)).json<{ spec: { renewTime: string } }>().spec.renewTime;
    const beforeFailover = await heartbeat();

    // its watches come back through B: a new pod gets its volume and a valid token
    const second = await B.api.request(`/api/v1/namespaces/${NS}/pods`, { body: podWithVolume('second') });
    assert.equal(second.status, 201, second.body);
    const secondUid = second.json<KubeObject>().metadata!.uid!;
    const token = await waitFor('the second pod’s token on disk', () => existsSync(join(volume(secondUid), 'token')) && readFileSync(join(volume(secondUid), 'token'), 'utf8'), 30_000);
    assert.ok(lb.connections[1]! > 0, 'the agent reconnected to replica B');
    const status = await review(B.api, token);
    assert.equal(status.authenticated, true, status.error);
    assert.deepEqual(status.user?.extra?.['authentication.kubernetes.io/pod-name'], ['second']);
    assert.deepEqual(status.user?.extra?.['authentication.kubernetes.io/node-name'], [NODE]);

    // a configMap change made through B reaches the first pod's files
    const changed = await B.api.request(`/api/v1/namespaces/${NS}/configmaps/settings`, { method: 'PUT', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'two' } } });
    assert.equal(changed.status, 200, changed.body);
    await waitFor('the changed configMap in the first pod’s volume', () => readFileSync(join(volume(firstUid), 'mode'), 'utf8') === 'two', 30_000);
    // the first pod's token is still valid
    const firstToken = readFileSync(join(volume(firstUid), 'token'), 'utf8');
    assert.equal((await review(B.api, firstToken)).authenticated, true);

    // the node's heartbeats go on through B
    await waitFor('a Node heartbeat through replica B', async () => (await heartbeat()) !== beforeFailover, 20_000);

    // and a deleted pod's volumes go
    assert.equal((await B.api.request(`/api/v1/namespaces/${NS}/pods/first?gracePeriodSeconds=0`, { method: 'DELETE' })).status, 200);
    await waitFor('the deleted pod’s directory removed', () => !existsSync(join(root, 'pods', firstUid)), 30_000);
    assert.equal(agent.proc.exitCode, null, agent.stderr());
  });
});
