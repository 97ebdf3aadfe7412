/**
 * The scheduler (binds pending pods to Ready nodes honouring nodeName, nodeSelector and taints;
 * Unschedulable condition and FailedScheduling event otherwise; picks up when a node becomes Ready)
 * and the node lifecycle controller (a silent node becomes Unknown).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import type { Client } from '../support/http.js';
import { nodeManifest, podManifest, startTestServer, waitFor, type TestServer } from '../support/server.js';

let ts: TestServer;
let admin: Client;
let ns: string;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
  ns = await ts.namespace('sched');
});
after(() => ts?.close());

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

async function pod(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await admin.get(`/api/v1/namespaces/${ns}/pods/${name}`)).json();
}

async function scheduledCondition(name: string): Promise<Condition | undefined> {
  return (await pod(name)).status?.conditions?.find((c: Condition) => c.type === 'PodScheduled');
}

async function unschedulable(name: string, message: string): Promise<void> {
  const c = await waitFor(`${name} to be reported unschedulable: ${message}`, async () => {
    const cond = await scheduledCondition(name);
    return cond?.status === 'False' && cond.message === message ? cond : undefined;
  });
  assert.equal(c.reason, 'Unschedulable');
  assert.equal((await pod(name)).spec.nodeName, undefined);
}

async function boundTo(name: string, node: string): Promise<void> {
  await waitFor(`${name} to be bound to ${node}`, async () => (await pod(name)).spec.nodeName === node);
  const cond = await scheduledCondition(name);
  assert.equal(cond?.status, 'True');
}

async function events(name: string): Promise<{ type: string; reason: string; message: string; source: { component: string }; involvedObject: { kind: string; name: string } }[]> {
  const res = await admin.get(`/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3D${name}`);
  return res.json().items;
}

async function setReady(node: string, ready: boolean): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const res = await admin.patch(
    `/api/v1/nodes/${node}/status`,
    { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'KubeletReady', message: 'x', lastHeartbeatTime: now, lastTransitionTime: now }] } },
    'application/strategic-merge-patch+json',
  );
  assert.equal(res.status, 200, res.text);
}

describe('scheduler', () => {
  test('no nodes: Unschedulable with a FailedScheduling event', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('first'));
    await unschedulable('first', 'no nodes available to schedule pods');
    const evs = await waitFor('the FailedScheduling event', async () => {
      const list = await events('first');
      return list.length > 0 ? list : undefined;
    });
    assert.equal(evs[0]!.type, 'Warning');
    assert.equal(evs[0]!.reason, 'FailedScheduling');
    assert.equal(evs[0]!.message, 'no nodes available to schedule pods');
    assert.equal(evs[0]!.source.component, 'default-scheduler');
    assert.deepEqual([evs[0]!.involvedObject.kind, evs[0]!.involvedObject.name], ['Pod', 'first']);
  });

  test('a node that is not Ready does not take pods; once Ready it does, with a Scheduled event', async () => {
    await admin.post('/api/v1/nodes', nodeManifest('n1', { ready: false }));
    await unschedulable(
      'first',
      '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    );
    await setReady('n1', true);
    await boundTo('first', 'n1');
    await waitFor('the Scheduled event', async () => (await events('first')).some((e) => e.reason === 'Scheduled' && e.type === 'Normal' && e.message === `Successfully assigned ${ns}/first to n1`));
  });

  test('nodeSelector picks the node with the labels, or none', async () => {
    await admin.post('/api/v1/nodes', nodeManifest('n2', { labels: { disk: 'ssd' } }));
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('wants-ssd', { spec: { nodeSelector: { disk: 'ssd' } } }));
    await boundTo('wants-ssd', 'n2');
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('wants-nvme', { spec: { nodeSelector: { disk: 'nvme' } } }));
    await unschedulable(
      'wants-nvme',
      "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
  });

  test('a NoSchedule taint keeps pods off unless they tolerate it', async () => {
    await admin.post('/api/v1/nodes', nodeManifest('n3', { labels: { pool: 'gpu' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('intolerant', { spec: { nodeSelector: { pool: 'gpu' } } }));
    await unschedulable(
      'intolerant',
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('tolerant', { spec: { nodeSelector: { pool: 'gpu' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } }));
    await boundTo('tolerant', 'n3');
  });

  test('a pod that names its node, or another scheduler, is left alone', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('pinned', { nodeName: 'n-absent' }));
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('other-scheduler', { spec: { schedulerName: 'my-scheduler' } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await pod('pinned')).spec.nodeName, 'n-absent');
    assert.equal(await scheduledCondition('pinned'), undefined);
    assert.equal((await pod('other-scheduler')).spec.nodeName, undefined);
    assert.equal(await scheduledCondition('other-scheduler'), undefined);
  });

  test('pods/binding binds once; a second binding is 409', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('bind-me', { spec: { schedulerName: 'my-scheduler' } }));
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } };
    const res = await admin.post(`/api/v1/namespaces/${ns}/pods/bind-me/binding`, binding);
    assert.equal(res.status, 201, res.text);
    assert.equal((await pod('bind-me')).spec.nodeName, 'n1');
    const again = await admin.post(`/api/v1/namespaces/${ns}/pods/bind-me/binding`, { ...binding, target: { ...binding.target, name: 'n2' } });
    assert.equal(again.status, 409, again.text);
    assert.equal((await pod('bind-me')).spec.nodeName, 'n1');
  });
});

describe('node lifecycle', () => {
  test('a node whose heartbeat is older than 40 s becomes Unknown; one renewing its Lease does not', async () => {
    const old = new Date(Date.now() - 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const silent = (name: string): KubeObject => {
      const node = nodeManifest(name) as { metadata: Record<string, unknown>; status: { conditions: { lastHeartbeatTime: string; lastTransitionTime: string }[] } };
      node.metadata.uid = `${name}-uid`;
      node.metadata.creationTimestamp = old;
      node.status.conditions[0]!.lastHeartbeatTime = old;
      node.status.conditions[0]!.lastTransitionTime = old;
      return node as KubeObject;
    };
    // written straight to the store: a client cannot backdate creationTimestamp
    await ts.handle.store.create('/registry/nodes/silent', silent('silent'));
    await ts.handle.store.create('/registry/nodes/leased', silent('leased'));
    const lease = await admin.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      metadata: { name: 'leased' },
      spec: { holderIdentity: 'leased', leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z') },
    });
    assert.equal(lease.status, 201, lease.text);

    const ready = await waitFor('the silent node to become Unknown', async () => {
      const n = (await admin.get('/api/v1/nodes/silent')).json();
      const c = n.status.conditions.find((x: Condition) => x.type === 'Ready');
      return c.status === 'Unknown' ? c : undefined;
    }, 15_000);
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    const leased = (await admin.get('/api/v1/nodes/leased')).json();
    assert.equal(leased.status.conditions.find((x: Condition) => x.type === 'Ready').status, 'True');

    // the scheduler no longer places pods there
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('avoid-silent', { spec: { nodeSelector: { 'kubernetes.io/hostname': 'nowhere' } } }));
    const table = await admin.get('/api/v1/nodes/silent', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.equal(table.json().rows[0].cells[1], 'Unknown');
  });
});
