/**
 * Issue #7: two `boundtoken server` replicas (real processes) over one real etcd serve the same
 * objects and keys, with Kubernetes' read semantics across replicas:
 *
 * - a GET or LIST without resourceVersion is a consistent read: it sees every write acknowledged
 *   before it, whichever replica acknowledged it (the replica syncs its caches with etcd's current
 *   revision first);
 * - a watch on one replica from a resourceVersion another replica returned gets exactly the
 *   changes after it;
 * - a token minted through one replica is accepted through the other at once (a TokenRequest
 *   too), and refused through the other once the deletion of its pod has been acknowledged for
 *   100 ms — the bound documented in docs/server.md;
 * - the controllers run on exactly one replica (the holder of the Lease), and work for writes
 *   made through either.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { TOKEN_REVIEW_STALENESS_MS } from '@boundtoken/server';
import { readKubeconfig } from './harness.ts';
import { createNamespace, createPod, deletePodNow, mintToken, requestToken, review } from './replica-api.ts';
import { leaseHolder, startReplicaSet, waitForLeader, type Replica, type ReplicaSet } from './replicas-harness.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('issue #7: two replicas over one etcd', { timeout: 120_000 }, () => {
  let set: ReplicaSet;
  let A: Replica;
  let B: Replica;
  before(async () => {
    set = await startReplicaSet({ etcdMembers: 1, replicas: 2 });
    [A, B] = set.replicas as [Replica, Replica];
    await createNamespace(B.api, 'consistency');
    await createNamespace(A.api, 'tokens');
  });
  after(async () => {
    await set?.stop();
  });

  test('the replicas serve one state: the same CA, keys and objects', async () => {
    const jwks = await Promise.all([A, B].map(async (r) => (await r.api.request('/openid/v1/jwks')).body));
    assert.equal(jwks[0], jwks[1]);
    assert.ok(JSON.parse(jwks[0]!).keys.length >= 1);
    const ca = readKubeconfig(A.kubeconfig).caPem;
    assert.equal(readKubeconfig(B.kubeconfig).caPem, ca);
    const uids = await Promise.all([A, B].map(async (r) => (await r.api.request('/api/v1/namespaces/consistency')).json<KubeObject>().metadata!.uid));
    assert.equal(uids[0], uids[1]);
  });

  test('reads without resourceVersion see every write acknowledged by the other replica', async () => {
    const NS = '/api/v1/namespaces/consistency/configmaps';
    const stale: string[] = [];
    const worker = async (w: number): Promise<void> => {
      // alternate the direction: writes through one replica, reads through the other
      const [writer, reader] = w % 2 === 0 ? [A, B] : [B, A];
      for (let i = 0; i < 40; i++) {
        const name = `w${w}-${i}`;
        const created = await writer.api.request(NS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '0' } } });
        assert.equal(created.status, 201, created.body);
        const uid = created.json<ConfigMap>().metadata!.uid;

        const got = await reader.api.request(`${NS}/${name}`);
        if (got.status !== 200 || got.json<ConfigMap>().metadata!.uid !== uid) stale.push(`GET after create ${name}: ${got.status}`);

        const updated = await writer.api.request(`${NS}/${name}`, { method: 'PUT', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } } });
        assert.equal(updated.status, 200, updated.body);
        const after1 = await reader.api.request(`${NS}/${name}`);
        if (after1.json<ConfigMap>().data?.v !== '1') stale.push(`GET after update ${name}: v=${after1.json<ConfigMap>().data?.v}`);
        const listed = await reader.api.request(`${NS}?labelSelector=`);
        const inList = listed.json<{ items: ConfigMap[] }>().items.find((c) => c.metadata!.name === name);
        if (inList?.data?.v !== '1') stale.push(`LIST after update ${name}: ${inList ? `v=${inList.data?.v}` : 'missing'}`);

        const deleted = await writer.api.request(`${NS}/${name}`, { method: 'DELETE' });
        assert.equal(deleted.status, 200, deleted.body);
        const gone = await reader.api.request(`${NS}/${name}`);
        if (gone.status !== 404) stale.push(`GET after delete ${name}: ${gone.status}`);
        const list2 = await reader.api.request(NS);
        if (list2.json<{ items: ConfigMap[] }>().items.some((c) => c.metadata!.name === name)) stale.push(`LIST after delete ${name}: present`);
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    assert.deepEqual(stale, []);
  });

  test('a watch on one replica from the resourceVersion of the other gets exactly the later changes', async () => {
    const NS = '/api/v1/namespaces/consistency/configmaps';
    const first = await A.api.request(NS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched-0' } } });
    assert.equal(first.status, 201);
    const rv = first.json<ConfigMap>().metadata!.resourceVersion!;
    // from A's resourceVersion, watch B; then write through A
    const { url } = B;
    const creds = readKubeconfig(B.kubeconfig);
    const events: { type: string; name: string; rv: string }[] = [];
    let buffer = '';
    const req = httpsRequest(
      new URL(`${NS}?watch=1&resourceVersion=${rv}&timeoutSeconds=30`, url),
      { ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, headers: { Accept: 'application/json' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            const ev = JSON.parse(line) as { type: string; object: ConfigMap };
            events.push({ type: ev.type, name: ev.object.metadata?.name ?? '', rv: ev.object.metadata?.resourceVersion ?? '' });
          }
        });
      },
    );
    req.on('error', () => undefined);
    req.end();
    try {
      const expected: { type: string; name: string; rv: string }[] = [];
      for (let i = 1; i <= 20; i++) {
        const c = await A.api.request(NS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `watched-${i}` } } });
        expected.push({ type: 'ADDED', name: `watched-${i}`, rv: c.json<ConfigMap>().metadata!.resourceVersion! });
        if (i % 5 === 0) {
          const d = await A.api.request(`${NS}/watched-${i}`, { method: 'DELETE' });
          expected.push({ type: 'DELETED', name: `watched-${i}`, rv: d.json<ConfigMap>().metadata?.resourceVersion ?? '' });
        }
      }
      const deadline = Date.now() + 10_000;
      while (events.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Kubernetes' DELETE answer for configmaps is a Status: compare names and types, and the
      // ADDED resourceVersions
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.name}`),
        expected.map((e) => `${e.type} ${e.name}`),
      );
      for (const [i, e] of expected.entries()) if (e.type === 'ADDED') assert.equal(events[i]!.rv, e.rv);
    } finally {
      req.destroy();
    }
  });

  test('a token is accepted through either replica at once, and refused through the other one 100 ms after its pod’s deletion was acknowledged', async () => {
    const wrong: string[] = [];
    const worker = async (w: number): Promise<void> => {
      const [one, other] = w % 2 === 0 ? [A, B] : [B, A];
      for (let i = 0; i < 15; i++) {
        const name = `p${w}-${i}`;
        const pod = await createPod(one.api, 'tokens', name);
        // minted where the pod was created, reviewed at once through the other replica
        const token = await mintToken(one.api, 'tokens', pod);
        const ok = await review(other.api, token);
        if (ok.authenticated !== true) wrong.push(`review through ${other.name} of a token minted through ${one.name}: ${ok.error}`);
        // a TokenRequest through the replica that did not create the pod, right after
        const minted = await requestToken(other.api, 'tokens', pod);
        if (minted.status !== 201) {
          wrong.push(`TokenRequest through ${other.name} right after the pod was created through ${one.name}: ${minted.status} ${minted.body.slice(0, 200)}`);
          continue;
        }
        const okOne = await review(one.api, minted.json<{ status: { token: string } }>().status.token);
        if (okOne.authenticated !== true) wrong.push(`review through ${one.name} of a token minted through ${other.name}: ${okOne.error}`);
        assert.equal((await deletePodNow(one.api, 'tokens', name)).status, 200);
        // the bound: a review through the other replica that arrives more than
        // TOKEN_REVIEW_STALENESS_MS (100 ms) after the deletion was acknowledged refuses the token
        await new Promise((r) => setTimeout(r, TOKEN_REVIEW_STALENESS_MS + 20));
        const refused = await review(other.api, token);
        if (refused.authenticated) wrong.push(`review through ${other.name} after ${one.name} acknowledged the deletion of ${name}: authenticated`);
        else assert.match(refused.error ?? '', /invalidated|not found/);
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    assert.deepEqual(wrong, []);
  });

  test('the controllers run on exactly one replica and serve writes made through either', async () => {
    const leader = await waitForLeader(set);
    const follower = leader === A ? B : A;
    assert.equal(await leaseHolder(follower.api), leader.identity());
    assert.match(follower.server.stderr(), /controllers are led by another replica/);
    assert.doesNotMatch(follower.server.stderr(), /"msg":"became leader"/);
    // a namespace created through the follower gets its default ServiceAccount and root CA from the leader
    await createNamespace(follower.api, 'via-follower');
    const cm = await follower.api.request('/api/v1/namespaces/via-follower/configmaps/kube-root-ca.crt');
    assert.equal(cm.status, 200);
    // and tokens for pods there work through both
    const pod = await createPod(follower.api, 'via-follower', 'p');
    const token = await mintToken(leader.api, 'via-follower', pod);
    assert.equal((await review(follower.api, token)).authenticated, true);
  });
});
