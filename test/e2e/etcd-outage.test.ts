/**
 * Issue #7, etcd trouble: a `boundtoken server` on etcd whose only etcd member is killed stays up;
 * requests that need etcd (consistent reads, writes, TokenRequest) get a 503/504 `Status` with
 * `Retry-After`; `/readyz` fails naming etcd while `/livez` passes; what kube-apiserver serves from
 * its caches (TokenReview, resourceVersion=0 reads, open watches) goes on. A server started while
 * etcd is down says it is waiting for etcd. When etcd returns, both recover without a restart.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { readKubeconfig, startProcess, waitFor, type ApiResponse, type RunningProcess } from './harness.ts';
import { createNamespace, createPod, mintToken, review } from './replica-api.ts';
import { startReplicaSet, type Replica, type ReplicaSet } from './replicas-harness.ts';

describe('issue #7: etcd down, then back', { timeout: 120_000 }, () => {
  let set: ReplicaSet;
  let late: RunningProcess | undefined;
  before(async () => {
    set = await startReplicaSet({ etcdMembers: 1, replicas: 1, logLevel: 'warn' });
  });
  after(async () => {
    await late?.stop();
    await set?.stop();
  });

  test('503/504 with Retry-After while etcd is down, /readyz fails, nothing crashes, all recovers', async () => {
    const server = set.replicas[0] as Replica;
    const api = server.api;
    await createNamespace(api, 'o');
    const pod = await createPod(api, 'o', 'p');
    const token = await mintToken(api, 'o', pod);

    // a watch open across the outage
    const creds = readKubeconfig(server.kubeconfig);
    const rv = (await api.request('/api/v1/namespaces/o/configmaps')).json<KubeObject>().metadata!.resourceVersion!;
    const watched: string[] = [];
    const watch = httpsRequest(
      new URL(`/api/v1/namespaces/o/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=120`, server.url),
      { ca: creds.caPem, cert: creds.certPem, key: creds.keyPem },
      (res) => {
        let buf = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            watched.push((JSON.parse(buf.slice(0, nl)) as { object: KubeObject }).object.metadata!.name!);
            buf = buf.slice(nl + 1);
          }
        });
      },
    );
    watch.on('error', () => undefined);
    watch.end();

    await set.etcd.members[0]!.kill('SIGKILL');

    const unavailable = (r: ApiResponse, what: string): void => {
      assert.ok(r.status === 503 || r.status === 504, `${what}: ${r.status} ${r.body}`);
      const status = r.json<{ kind: string; code: number; details?: { retryAfterSeconds?: number } }>();
      assert.equal(status.kind, 'Status', what);
      assert.equal(status.code, r.status, what);
      assert.match(String(r.headers['retry-after']), /^\d+$/, `${what}: Retry-After`);
      assert.ok((status.details?.retryAfterSeconds ?? 0) > 0, `${what}: details.retryAfterSeconds`);
    };
    const started = Date.now();
    unavailable(await api.request('/api/v1/namespaces/o'), 'GET');
    unavailable(await api.request('/api/v1/namespaces/o/configmaps'), 'LIST');
    unavailable(await api.request('/api/v1/namespaces/o/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'during' } } }), 'POST');
    unavailable(await api.request('/api/v1/namespaces/o/serviceaccounts/default/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } }), 'TokenRequest');
    unavailable(await api.request('/api/v1/namespaces/o/pods/p', { method: 'DELETE' }), 'DELETE');
    const answeredWithin = Date.now() - started;

    const readyz = await api.request('/readyz?verbose');
    assert.equal(readyz.status, 500);
    assert.match(readyz.body, /\[-\]etcd failed/);
    assert.equal((await api.request('/livez')).status, 200);
    // served from the caches, as kube-apiserver does
    assert.equal((await review(api, token)).authenticated, true);
    assert.equal((await api.request('/api/v1/namespaces/o?resourceVersion=0')).status, 200);

    // a server started now waits for etcd, saying so
    late = startProcess(['server', '--data-dir', set.dataDir, '--secure-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'info', ...set.args]);
    await waitFor('the late server to say it waits for etcd', () => /waiting for etcd at http:\/\/127\.0\.0\.1:\d+/.test(late!.stderr()), 15_000);
    assert.doesNotMatch(late.stdout(), /ready at/);

    await set.etcd.members[0]!.restart();
    await waitFor('/readyz to pass again', async () => (await api.request('/readyz')).status === 200, 20_000);
    await waitFor('a consistent read to work again', async () => (await api.request('/api/v1/namespaces/o')).status === 200, 20_000);
    const created = await api.request('/api/v1/namespaces/o/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' } } });
    assert.equal(created.status, 201, created.body);
    assert.equal((await api.request('/api/v1/namespaces/o/serviceaccounts/default/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } })).status, 201);
    await waitFor('the open watch to see the write made after the outage', () => watched.includes('after'), 20_000);
    assert.ok(!watched.includes('during'), 'a write refused during the outage did not happen');
    await waitFor('the late server to become ready', () => /ready at https:\/\//.test(late!.stdout()), 30_000);

    assert.ok(server.alive(), 'the server stayed up');
    assert.equal(late.proc.exitCode, null);
    console.log(`etcd outage: the five refused requests were answered within ${answeredWithin} ms`);
    watch.destroy();
  });
});
