/**
 * Issue #7, consistency across replicas when one replica's watch lags: two in-process servers on
 * one store, where replica B sees every change (events and progress) 300 ms late — a replica on a
 * slow link to etcd, made deterministic. The store reports itself as shared (`etcd`), so both
 * servers behave as replicas do (consistent-read checks, leader election).
 *
 * Without the consistent-read check, every read through B right after a write through A would be
 * 300 ms stale; with it, B waits until its caches caught up with the store's revision. TokenReview
 * shows the two halves of its bound: a valid token is accepted through B at once (a refusal from
 * lagging caches is confirmed against the current state first), and refused through B once the
 * deletion of its pod has been acknowledged for TOKEN_REVIEW_STALENESS_MS (100 ms).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { KubeObject } from '@boundtoken/api';
import { resolveServerOptions, startServer, type ServerHandle } from '@boundtoken/server';
import { createMemoryStore, type ListOptions, type Store, type Versioned, type Watch, type WatchOptions } from '@boundtoken/store';
import { apiClient, cleanup, tempDir, writeKubeconfig, type ApiClient } from './harness.ts';
import { createNamespace, createPod, mintToken, review } from './replica-api.ts';

const LAG_MS = 300;

/** One replica's view of a shared store: the same data, its watch `lagMs` behind. */
class LaggingView implements Store {
  /** Shared with other processes, as etcd is: the servers check consistency and elect a leader. */
  readonly backend = 'etcd';
  readonly #store: Store;
  readonly #lagMs: number;
  constructor(store: Store, lagMs: number) {
    this.#store = store;
    this.#lagMs = lagMs;
  }
  currentRevision(): Promise<number> {
    return this.#store.currentRevision();
  }
  get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined> {
    return this.#store.get<T>(key);
  }
  list<T extends KubeObject = KubeObject>(prefix: string, options?: ListOptions) {
    return this.#store.list<T>(prefix, options);
  }
  create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>> {
    return this.#store.create(key, value);
  }
  update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>> {
    return this.#store.update(key, value, expectedRevision);
  }
  delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>> {
    return this.#store.delete<T>(key, expectedRevision);
  }
  watch(prefix: string, o: WatchOptions): Watch {
    let stopped = false;
    // one delay for everything keeps the order
    const later = (fn: () => void): void => void setTimeout(() => stopped || fn(), this.#lagMs);
    const inner = this.#store.watch(prefix, {
      ...(o.afterRevision !== undefined ? { afterRevision: o.afterRevision } : {}),
      onEvent: (ev) => later(() => o.onEvent(ev)),
      onError: (err) => later(() => o.onError(err)),
      ...(o.onProgress ? { onProgress: (rev: number) => later(() => o.onProgress!(rev)) } : {}),
    });
    return {
      stop() {
        stopped = true;
        inner.stop();
      },
    };
  }
  compact(revision: number): Promise<void> {
    return this.#store.compact(revision);
  }
  compactedRevision(): Promise<number> {
    return this.#store.compactedRevision();
  }
  ping(): Promise<void> {
    return this.#store.ping();
  }
  async close(): Promise<void> {
    // the shared store is closed by its owner
  }
}

describe('issue #7: a replica whose watch lags 300 ms still reads consistently', { timeout: 60_000 }, () => {
  const dataDir = tempDir('lag');
  const shared = createMemoryStore();
  const handles: ServerHandle[] = [];
  let A: ApiClient;
  let B: ApiClient;
  before(async () => {
    const start = async (lagMs: number, name: string): Promise<ApiClient> => {
      const handle = await startServer(resolveServerOptions({ dataDir, securePort: 0, bindAddress: '127.0.0.1', storageBackend: 'memory' }), {
        log: pino({ level: 'silent' }),
        store: new LaggingView(shared, lagMs),
        signingWorkers: 1,
      });
      handles.push(handle);
      const kubeconfig = writeKubeconfig(join(dataDir, `${name}.kubeconfig`), {
        server: handle.url,
        caPem: handle.pki.ca.certPem,
        certPem: handle.pki.admin.certPem,
        keyPem: handle.pki.admin.keyPem,
      });
      return apiClient(kubeconfig);
    };
    A = await start(0, 'a');
    B = await start(LAG_MS, 'b');
    await createNamespace(A, 'lag');
  });
  after(async () => {
    A?.close();
    B?.close();
    for (const h of handles) await h.close();
    await shared.close();
    cleanup(dataDir);
  });

  test('GET and LIST through the lagging replica see what the other one just acknowledged', async () => {
    const path = '/api/v1/namespaces/lag/configmaps';
    for (let i = 0; i < 5; i++) {
      const created = await A.request(path, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` }, data: { v: '1' } } });
      assert.equal(created.status, 201);
      const started = Date.now();
      const got = await B.request(`${path}/c${i}`);
      assert.equal(got.status, 200, got.body);
      assert.equal(got.json<KubeObject>().metadata!.uid, created.json<KubeObject>().metadata!.uid);
      // the cache, not a read through: B waited for its watch
      assert.ok(Date.now() - started >= LAG_MS / 2, `answered after ${Date.now() - started} ms`);
      assert.equal((await A.request(`${path}/c${i}`, { method: 'DELETE' })).status, 200);
      const listed = await B.request(path);
      assert.ok(!listed.json<{ items: KubeObject[] }>().items.some((c) => c.metadata!.name === `c${i}`), `c${i} listed after its deletion`);
      assert.equal((await B.request(`${path}/c${i}`)).status, 404);
    }
  });

  test('TokenReview through the lagging replica: a new pod’s token accepted at once, a deleted one’s refused after 100 ms', async () => {
    for (let i = 0; i < 5; i++) {
      const pod = await createPod(A, 'lag', `p${i}`);
      const token = await mintToken(A, 'lag', pod);
      // B's caches do not have the pod yet: the refusal they give is confirmed, and overturned
      const accepted = await review(B, token);
      assert.equal(accepted.authenticated, true, accepted.error);
      assert.equal((await A.request(`/api/v1/namespaces/lag/pods/p${i}?gracePeriodSeconds=0`, { method: 'DELETE' })).status, 200);
      await new Promise((r) => setTimeout(r, 120));
      const refused = await review(B, token);
      assert.notEqual(refused.authenticated, true, `the token of deleted pod p${i} was accepted`);
      assert.match(refused.error ?? '', /invalidated|not found/);
    }
  });
});
