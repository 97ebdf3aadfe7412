/**
 * Issue #3, durability: writers hammer the real server process (default SQLite storage) with
 * creates and updates over HTTPS, the server is killed with SIGKILL in the middle of the burst,
 * and restarted on the same data dir. Every write it acknowledged (201 / 200 received) must be
 * there, with the uid it was acknowledged with; updates may only be at or past the last
 * acknowledged value (an in-flight write may have landed without its answer). A token issued
 * before the crash still authenticates after it.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { apiClient, cleanup, startServer, tempDir, waitFor, type TestServer } from './harness.ts';

const NS = 'burst';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const CREATORS = 12;
const UPDATERS = 4;
/** Bounded: the burst stops here even if the kill came late. */
const MAX_WRITES = 20_000;

type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('issue #3: kill -9 during a burst of writes loses nothing acknowledged', () => {
  const dataDir = tempDir('durability');
  let server: TestServer | undefined;
  after(async () => {
    await server?.dispose();
    cleanup(dataDir);
  });

  test('every acknowledged create and update survives SIGKILL and restart', async () => {
    server = await startServer([], { dataDir });
    let api = apiClient(server.kubeconfig, { maxSockets: CREATORS + UPDATERS });
    assert.equal((await api.request('/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } })).status, 201);
    for (let u = 0; u < UPDATERS; u++) {
      const r = await api.request(CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `counter-${u}` }, data: { n: '0' } } });
      assert.equal(r.status, 201, r.body);
    }

    // a token issued before the crash must still authenticate after it (keys and objects persisted)
    const minted = await api.request('/api/v1/namespaces/default/serviceaccounts/default/token', { body: { spec: { audiences: ['vault'] } } });
    assert.equal(minted.status, 201, minted.body);
    const token = minted.json<{ status: { token: string } }>().status.token;

    const created = new Map<string, string>(); // name → uid, acknowledged
    const lastAcked = new Map<string, number>(); // counter → last acknowledged value
    const refused: string[] = [];
    let failures = 0;
    let writes = 0;
    let stop = false;
    const creator = async (w: number): Promise<void> => {
      for (let i = 0; !stop && writes < MAX_WRITES; i++) {
        const name = `w${w}-${i}`;
        writes++;
        try {
          const r = await api.request(CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { writer: String(w), seq: String(i) } } });
          if (r.status !== 201) {
            refused.push(`${name}: ${r.status} ${r.body.slice(0, 200)}`);
            return;
          }
          const obj = r.json<KubeObject>();
          assert.equal(obj.metadata!.name, name);
          created.set(name, obj.metadata!.uid!);
        } catch {
          failures++; // the connection died with the server: not acknowledged
          return;
        }
      }
    };
    const updater = async (u: number): Promise<void> => {
      const name = `counter-${u}`;
      for (let n = 1; !stop && writes < MAX_WRITES; n++) {
        writes++;
        try {
          // a merge patch without a resourceVersion: last writer wins, each acknowledged value is stored
          const r = await api.request(`${CM}/${name}`, { method: 'PATCH', body: { data: { n: String(n) } }, contentType: 'application/merge-patch+json' });
          if (r.status !== 200) {
            refused.push(`${name}=${n}: ${r.status} ${r.body.slice(0, 200)}`);
            return;
          }
          assert.equal(r.json<ConfigMap>().data?.n, String(n));
          lastAcked.set(name, n);
        } catch {
          failures++;
          return;
        }
      }
    };
    const burst = Promise.all([
      ...Array.from({ length: CREATORS }, (_, w) => creator(w)),
      ...Array.from({ length: UPDATERS }, (_, u) => updater(u)),
    ]);
    // kill once the burst is well under way, while requests are in flight
    await waitFor('the burst to get going', () => created.size >= 150 && [...lastAcked.values()].every((n) => n >= 10) && lastAcked.size === UPDATERS, 60_000, 5);
    const killedAt = created.size;
    assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
    await burst;
    stop = true;
    api.close();
    assert.deepEqual(refused, [], 'writes refused before the kill');
    assert.ok(failures > 0, 'no request was in flight when the server was killed');
    assert.ok(created.size >= killedAt);

    // restart on the same data dir (a new port; admin.kubeconfig is rewritten)
    server = await startServer([], { dataDir });
    api = apiClient(server.kubeconfig);
    try {
      const list = (await api.request(CM)).json<{ items: ConfigMap[] }>();
      const stored = new Map(list.items.map((i) => [i.metadata!.name!, i]));
      const missing = [...created.keys()].filter((name) => !stored.has(name));
      assert.deepEqual(missing, [], `${missing.length} of ${created.size} acknowledged creates are gone`);
      for (const [name, uid] of created) assert.equal(stored.get(name)!.metadata!.uid, uid, `${name} came back as another object`);
      // at most one in-flight create per writer may have landed unacknowledged
      const extra = [...stored.keys()].filter((n) => /^w\d+-\d+$/.test(n) && !created.has(n));
      assert.ok(extra.length <= CREATORS, `unexpected objects: ${extra.join(',')}`);
      for (const [name, n] of lastAcked) {
        const value = Number(stored.get(name)!.data!.n);
        assert.ok(value === n || value === n + 1, `${name}: acknowledged ${n}, stored ${value}`);
      }
      const reviewed = await api.request('/apis/authentication.k8s.io/v1/tokenreviews', { body: { spec: { token, audiences: ['vault'] } } });
      assert.equal(reviewed.status, 201, reviewed.body);
      const review = reviewed.json<{ status: { authenticated?: boolean; error?: string; user?: { username?: string } } }>().status;
      assert.equal(review.authenticated, true, review.error);
      assert.equal(review.user?.username, 'system:serviceaccount:default:default');
      // the store is healthy: it takes writes again, and resourceVersions keep increasing
      const after = await api.request(CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } } });
      assert.equal(after.status, 201, after.body);
      const maxBefore = Math.max(...list.items.map((i) => Number(i.metadata!.resourceVersion)));
      assert.ok(Number(after.json<KubeObject>().metadata!.resourceVersion) > maxBefore);
    } finally {
      api.close();
    }
  });
});
