/**
 * Issue #7, the fault test: two server replicas over a three-member etcd cluster, under a load of
 * pod creates and deletes, TokenRequests, TokenReviews and ConfigMap writes through both replicas
 * (clients retry on connection errors and 5xx, bounded). Then:
 *
 *   1. the etcd leader is killed (SIGKILL): two members keep the quorum;
 *   2. the replica holding the controllers' Lease is killed (SIGKILL).
 *
 * Asserted: every acknowledged write is there at the end (acknowledged deletes are gone); no
 * TokenReview is answered wrongly (a token of a live pod authenticated at once, of a pod whose
 * deletion was acknowledged 100 ms before refused — each review goes to the replica that did not
 * mint the token or delete the pod); the surviving replica answers throughout (no operation gives up, no long
 * silence); the Lease moves to the survivor within the lease duration plus one retry period, and
 * the controllers work there (a new namespace gets its default ServiceAccount, a pending pod gets
 * scheduled).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { TOKEN_REVIEW_STALENESS_MS } from '@boundtoken/server';
import type { ApiClient, ApiResponse } from './harness.ts';
import { waitFor } from './harness.ts';
import { AUDIENCE, createNamespace, podBody, tokenRequestBody } from './replica-api.ts';
import { leaseHolder, startReplicaSet, waitForLeader, type Replica, type ReplicaSet } from './replicas-harness.ts';

const NS = 'load';
const WORKERS = 6;
/** Bounded load: each worker stops after this many rounds even if the test runs long. */
const MAX_ROUNDS = 400;
/** Client retries of one operation (connection errors and 5xx), and its deadline. */
const MAX_ATTEMPTS = 60;
const OP_DEADLINE_MS = 20_000;
/** The controllers' Lease: duration and the candidates' retry period (leader-election.ts defaults). */
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;

interface Answer {
  r: ApiResponse;
  via: Replica;
  /** The operation was sent more than once (an earlier attempt may have landed). */
  retried: boolean;
}

class GaveUp extends Error {}

function isConnectionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'].includes(code ?? '') || /socket hang up|disconnected/.test((err as Error).message);
}

/** etcd's raft leader among the members (through each member's maintenance status). */
async function etcdLeader(set: ReplicaSet): Promise<number> {
  for (const [i, m] of set.etcd.members.entries()) {
    const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const status = (await res.json()) as { header: { member_id: string }; leader: string };
    if (status.header.member_id === status.leader) return i;
  }
  throw new Error('no etcd member says it leads');
}

describe('issue #7: faults under load — an etcd member, then a server replica, killed', { timeout: 150_000 }, () => {
  let set: ReplicaSet;
  before(async () => {
    set = await startReplicaSet({ etcdMembers: 3, replicas: 2 });
    await createNamespace(set.replicas[1]!.api, NS);
  });
  after(async () => {
    await set?.stop();
  });

  test('no acknowledged write lost, no review wrong, the survivor answers throughout and takes the controllers over', async () => {
    const victim = await waitForLeader(set);
    const survivor = set.replicas.find((r) => r !== victim)!;

    // ---- the client side: bounded retries, switching replicas on connection errors
    const answeredBy = new Map<string, number[]>([
      [victim.name, []],
      [survivor.name, []],
    ]);
    const serverErrors: string[] = [];
    let connectionErrors = 0;
    const call = async (order: [Replica, Replica], send: (api: ApiClient) => Promise<ApiResponse>): Promise<Answer> => {
      const deadline = Date.now() + OP_DEADLINE_MS;
      let k = 0;
      let retried = false;
      for (let attempt = 0; attempt < MAX_ATTEMPTS && Date.now() < deadline; attempt++) {
        const via = order[k % 2]!;
        let r: ApiResponse;
        try {
          r = await send(via.api);
        } catch (err) {
          if (!isConnectionError(err)) throw err;
          connectionErrors++;
          k++;
          retried = true;
          await new Promise((res) => setTimeout(res, 20));
          continue;
        }
        if (r.status >= 500 || r.status === 429) {
          serverErrors.push(`${via.name} ${r.status} ${r.body.slice(0, 160)}`);
          retried = true;
          await new Promise((res) => setTimeout(res, 100));
          continue;
        }
        answeredBy.get(via.name)!.push(Date.now());
        return { r, via, retried };
      }
      throw new GaveUp(`an operation gave up after ${MAX_ATTEMPTS} attempts or ${OP_DEADLINE_MS} ms`);
    };

    // ---- what was acknowledged, and what went wrong
    const livePods = new Map<string, string>(); // name → uid, creation acknowledged, no deletion acknowledged
    const deletedPods = new Set<string>(); // deletion acknowledged
    const configMaps = new Map<string, string>(); // name → uid
    const wrong: string[] = [];
    const gaveUp: string[] = [];
    let reviews = 0;
    let stop = false;

    const uidOf = async (order: [Replica, Replica], path: string): Promise<string> => {
      const { r } = await call(order, (api) => api.request(path));
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      return r.json<KubeObject>().metadata!.uid!;
    };

    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop && i < MAX_ROUNDS; i++) {
        // alternate which replica goes first; the other one does the next step
        const one = set.replicas[(w + i) % 2]!;
        const other = set.replicas[(w + i + 1) % 2]!;
        const name = `w${w}-${i}`;
        try {
          const created = await call([one, other], (api) => api.request(`/api/v1/namespaces/${NS}/pods`, { body: podBody(name) }));
          let uid: string;
          if (created.r.status === 201) uid = created.r.json<KubeObject>().metadata!.uid!;
          else if (created.r.status === 409 && created.retried) uid = await uidOf([one, other], `/api/v1/namespaces/${NS}/pods/${name}`);
          else throw new Error(`creating pod ${name}: ${created.r.status} ${created.r.body}`);
          livePods.set(name, uid);

          // odd rounds mint where the pod was created, even rounds through the other replica
          const minter: [Replica, Replica] = i % 2 ? [one, other] : [other, one];
          const minted = await call(minter, (api) => api.request(`/api/v1/namespaces/${NS}/serviceaccounts/default/token`, { body: tokenRequestBody({ name, uid }) }));
          if (minted.r.status !== 201) {
            wrong.push(`TokenRequest for ${name} through ${minted.via.name}: ${minted.r.status} ${minted.r.body.slice(0, 200)}`);
            continue;
          }
          const token = minted.r.json<{ status: { token: string } }>().status.token;
          const reviewer: [Replica, Replica] = minted.via === one ? [other, one] : [one, other];
          const ok = await call(reviewer, (api) => reviewRaw(api, token));
          reviews++;
          if (ok.r.json<{ status: { authenticated?: boolean; error?: string } }>().status.authenticated !== true) {
            wrong.push(`token of live pod ${name} (minted through ${minted.via.name}) refused through ${ok.via.name}: ${ok.r.body.slice(0, 200)}`);
          }

          if (i % 3 === 0) {
            const del = await call([other, one], (api) => api.request(`/api/v1/namespaces/${NS}/pods/${name}?gracePeriodSeconds=0`, { method: 'DELETE' }));
            if (del.r.status !== 200 && !(del.r.status === 404 && del.retried)) throw new Error(`deleting pod ${name}: ${del.r.status} ${del.r.body}`);
            livePods.delete(name);
            deletedPods.add(name);
            const afterDelete: [Replica, Replica] = del.via === one ? [other, one] : [one, other];
            // the bound: refused once the deletion has been acknowledged for TOKEN_REVIEW_STALENESS_MS
            await new Promise((r) => setTimeout(r, TOKEN_REVIEW_STALENESS_MS + 20));
            const refused = await call(afterDelete, (api) => reviewRaw(api, token));
            reviews++;
            // a refusal has no `authenticated` (false is omitted, as in Kubernetes) and says why
            const status = refused.r.json<{ status: { authenticated?: boolean; error?: string } }>().status;
            if (status.authenticated === true || !status.error) {
              wrong.push(`token of pod ${name} accepted through ${refused.via.name} after ${del.via.name} acknowledged its deletion`);
            }
          }

          const cmName = `cm-${name}`;
          const cm = await call([one, other], (api) => api.request(`/api/v1/namespaces/${NS}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: cmName }, data: { w: String(w), i: String(i) } } }));
          if (cm.r.status === 201) configMaps.set(cmName, cm.r.json<KubeObject>().metadata!.uid!);
          else if (cm.r.status === 409 && cm.retried) configMaps.set(cmName, await uidOf([one, other], `/api/v1/namespaces/${NS}/configmaps/${cmName}`));
          else throw new Error(`creating configmap ${cmName}: ${cm.r.status} ${cm.r.body}`);
        } catch (err) {
          if (err instanceof GaveUp) {
            gaveUp.push(`${name}: ${err.message}`);
            continue;
          }
          throw err;
        }
      }
    };

    const t0 = Date.now();
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const timeline: string[] = [];
    const mark = (what: string): void => void timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const leaderIndex = await etcdLeader(set);
      await set.etcd.members[leaderIndex]!.kill('SIGKILL');
      mark(`killed etcd member ${set.etcd.members[leaderIndex]!.name} (the raft leader)`);
      await new Promise((r) => setTimeout(r, 3000));

      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      mark(`killed replica ${victim.name} (the controllers' leader)`);
      const tookOver = await waitFor(
        `replica ${survivor.name} to take the controllers' Lease over`,
        async () => {
          const id = survivor.identity();
          return id !== undefined && (await leaseHolder(survivor.api)) === id ? Date.now() : undefined;
        },
        LEASE_DURATION_MS + RETRY_PERIOD_MS + 10_000,
        100,
      );
      mark(`replica ${survivor.name} leads the controllers`);
      const failover = tookOver - killedAt;
      assert.ok(failover <= LEASE_DURATION_MS + RETRY_PERIOD_MS + 1000, `the Lease moved after ${failover} ms`);
      // some more load on the survivor alone
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      stop = true;
      await load;
      mark('load stopped');
    }

    const survivorAnswers = answeredBy.get(survivor.name)!;
    let longestSilence = 0;
    for (let i = 1; i < survivorAnswers.length; i++) longestSilence = Math.max(longestSilence, survivorAnswers[i]! - survivorAnswers[i - 1]!);
    const summary = {
      timeline,
      operationsAnsweredBy: Object.fromEntries([...answeredBy].map(([k, v]) => [k, v.length])),
      reviews,
      livePods: livePods.size,
      deletedPods: deletedPods.size,
      configMaps: configMaps.size,
      connectionErrors,
      serverErrors: serverErrors.length,
      survivorLongestSilenceMs: longestSilence,
    };
    console.log(`replica fault test: ${JSON.stringify(summary, null, 2)}\nfirst server errors: ${JSON.stringify(serverErrors.slice(0, 10), null, 2)}`);

    assert.deepEqual(wrong, [], 'wrong TokenRequest/TokenReview answers');
    assert.deepEqual(gaveUp, [], 'operations that gave up');
    assert.ok(reviews > 100, `only ${reviews} reviews ran`);
    assert.ok(deletedPods.size > 20);
    // the survivor answered throughout: never silent for long, etcd leader election included
    assert.ok(longestSilence < 5000, `the survivor answered nothing for ${longestSilence} ms`);

    // ---- every acknowledged write is there; acknowledged deletes are gone
    const s = survivor.api;
    const pods = (await s.request(`/api/v1/namespaces/${NS}/pods`)).json<{ items: KubeObject[] }>().items;
    const podUids = new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const lostPods = [...livePods].filter(([name, uid]) => podUids.get(name) !== uid).map(([n]) => n);
    assert.deepEqual(lostPods, [], 'acknowledged pods missing');
    assert.deepEqual([...deletedPods].filter((n) => podUids.has(n)), [], 'pods present after their deletion was acknowledged');
    const cms = (await s.request(`/api/v1/namespaces/${NS}/configmaps`)).json<{ items: KubeObject[] }>().items;
    const cmUids = new Map(cms.map((c) => [c.metadata!.name!, c.metadata!.uid!]));
    assert.deepEqual([...configMaps].filter(([name, uid]) => cmUids.get(name) !== uid).map(([n]) => n), [], 'acknowledged configmaps missing');

    // ---- the controllers work on the survivor
    await createNamespace(s, 'after-failover', 20_000);
    const node = await s.request('/api/v1/nodes', {
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n1' },
        status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
      },
    });
    assert.equal(node.status, 201, node.body);
    const pending = await s.request('/api/v1/namespaces/after-failover/pods', { body: podBody('pending') });
    assert.equal(pending.status, 201, pending.body);
    await waitFor('the pending pod to be scheduled by the survivor', async () => {
      const p = (await s.request('/api/v1/namespaces/after-failover/pods/pending')).json<{ spec?: { nodeName?: string } }>();
      return p.spec?.nodeName === 'n1';
    });
  });
});

function reviewRaw(api: ApiClient, token: string): Promise<ApiResponse> {
  return api.request('/apis/authentication.k8s.io/v1/tokenreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [AUDIENCE] } },
  });
}
