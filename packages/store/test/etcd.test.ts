import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { isStoreError, openEtcdStore } from '@boundtoken/store';
import type { Store, StoreError } from '@boundtoken/store';
import { runStoreConformance, startEtcdCluster } from '@boundtoken/store/testing';
import type { EtcdCluster } from '@boundtoken/store/testing';

// one real etcd member for the whole file; installing etcd-server when missing (fails loudly if it cannot)
let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster({ members: 1 });
});
after(async () => {
  await cluster?.stop();
});

let n = 0;
let prefix = '';
runStoreConformance('etcd', {
  open: () => {
    // every store gets its own corner of the shared etcd
    prefix = `/conformance-${process.pid}-${n++}`;
    return openEtcdStore({ endpoints: cluster.endpoints, prefix });
  },
  reopen: () => openEtcdStore({ endpoints: cluster.endpoints, prefix }),
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('etcd specifics', () => {
  test('with the default prefix, keys sit where kube-apiserver puts them', async () => {
    const store = await openEtcdStore({ endpoints: cluster.endpoints });
    const raw = new Etcd3({ hosts: cluster.endpoints });
    try {
      const created = await store.create('/registry/pods/default/layout', { kind: 'Pod', metadata: { name: 'layout' } });
      const stored = await raw.get('/registry/pods/default/layout').json();
      assert.deepEqual(stored, { kind: 'Pod', metadata: { name: 'layout' } }, 'stored without resourceVersion');
      const meta = await raw.get('/registry/pods/default/layout').exec();
      assert.equal(Number(meta.kvs[0]!.mod_revision), created.revision, 'resourceVersion is the mod_revision');
      await store.delete('/registry/pods/default/layout');
    } finally {
      raw.close();
      await store.close();
    }
  });

  test('stores under different prefixes do not see each other', async () => {
    const a = await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/tenant-a' });
    const b = await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/tenant-a2' });
    const raw = new Etcd3({ hosts: cluster.endpoints });
    try {
      await a.create('/registry/configmaps/ns/x', { data: { owner: 'a' } });
      await b.create('/registry/configmaps/ns/x', { data: { owner: 'b' } });
      assert.deepEqual((await a.get('/registry/configmaps/ns/x'))?.value['data'], { owner: 'a' });
      assert.deepEqual(
        (await a.list('/registry/')).items.map((i) => i.key),
        ['/registry/configmaps/ns/x'],
      );
      assert.deepEqual((await raw.get('/tenant-a/configmaps/ns/x').json()) as unknown, { data: { owner: 'a' } });
    } finally {
      raw.close();
      await a.close();
      await b.close();
    }
  });

  test('keys outside /registry/ are caller misuse', async () => {
    const store = await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/misuse' });
    try {
      await assert.rejects(store.create('/elsewhere/x', {}), TypeError);
      await assert.rejects(store.list('/elsewhere/'), TypeError);
      assert.throws(() => store.watch('/elsewhere/', { onEvent() {}, onError() {} }), TypeError);
    } finally {
      await store.close();
    }
  });

  test('a value that is not JSON is an error, not a crash', async () => {
    const store = await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/garbage' });
    const raw = new Etcd3({ hosts: cluster.endpoints });
    try {
      await raw.put('/garbage/configmaps/ns/bad').value(Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff]));
      await assert.rejects(store.get('/registry/configmaps/ns/bad'), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'));
      await assert.rejects(store.list('/registry/'), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'));
    } finally {
      raw.close();
      await store.close();
    }
  });

  test('an unreachable etcd gives UNAVAILABLE or TIMEOUT within the deadline, never a hang or a crash', async () => {
    const port = await closedPort();
    const store = await openEtcdStore({
      endpoints: [`http://127.0.0.1:${port}`],
      requestTimeoutMs: 500,
      pingTimeoutMs: 300,
      watchRetryMs: 500,
    });
    try {
      const started = Date.now();
      await assert.rejects(store.ping(), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'));
      for (const call of [
        () => store.get('/registry/configmaps/ns/a'),
        () => store.create('/registry/configmaps/ns/a', {}),
        () => store.list('/registry/'),
        () => store.currentRevision(),
      ]) {
        await assert.rejects(call(), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE') || isStoreError(err, 'ERR_STORE_TIMEOUT'));
      }
      assert.ok(Date.now() - started < 5000, 'calls respect their deadlines');
      const failed = await new Promise<StoreError>((resolve) => {
        store.watch('/registry/', { afterRevision: 1, onEvent() {}, onError: resolve });
      });
      assert.ok(isStoreError(failed, 'ERR_STORE_UNAVAILABLE'));
    } finally {
      await store.close();
    }
  });

  test('TLS with client certificates (--etcd-cafile/--etcd-certfile/--etcd-keyfile)', async () => {
    const secure = await startEtcdCluster({ members: 1, tls: true });
    try {
      assert.match(secure.endpoints[0]!, /^https:\/\/127\.0\.0\.1:\d+$/);
      const tls = secure.tls!;
      const store = await openEtcdStore({ endpoints: secure.endpoints, tls: { ca: tls.ca, cert: tls.cert, key: tls.key } });
      try {
        await store.ping();
        const created = await store.create('/registry/secrets/ns/s', { data: { k: 'v' } });
        assert.equal((await store.get('/registry/secrets/ns/s'))?.revision, created.revision);
        const seen = await new Promise<number>((resolve, reject) => {
          const w = store.watch('/registry/secrets/', {
            afterRevision: created.revision - 1,
            onEvent: (e) => {
              w.stop();
              resolve(e.revision);
            },
            onError: reject,
          });
        });
        assert.equal(seen, created.revision);
      } finally {
        await store.close();
      }
      // without the client certificate, or trusting another CA, etcd is unavailable (not a crash)
      const other = await startEtcdCluster({ members: 1, tls: true });
      const cases = [
        { ca: tls.ca },
        { ca: other.tls!.ca, cert: tls.cert, key: tls.key },
      ];
      await other.stop();
      for (const bad of cases) {
        const rejected = await openEtcdStore({ endpoints: secure.endpoints, tls: bad, requestTimeoutMs: 1000, pingTimeoutMs: 1000 });
        try {
          await assert.rejects(rejected.ping(), (err) => isStoreError(err, 'ERR_STORE_UNAVAILABLE'));
        } finally {
          await rejected.close();
        }
      }
    } finally {
      await secure.stop();
    }
  });

  test('invalid options are caller misuse', async () => {
    await assert.rejects(openEtcdStore({ endpoints: [] }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['127.0.0.1:2379'] }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['http://a:1', 'https://b:2'] }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['http://a:1'], prefix: 'registry' }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['http://a:1'], tls: { ca: 'x' } }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['https://a:1'], tls: { cert: 'x' } }), TypeError);
    await assert.rejects(openEtcdStore({ endpoints: ['http://a:1'], requestTimeoutMs: 0 }), TypeError);
  });

  test('compactedRevision finds a compaction made by someone else', async () => {
    const store: Store = await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/compaction' });
    const raw = new Etcd3({ hosts: cluster.endpoints });
    try {
      await store.create('/registry/configmaps/ns/a', {});
      const target = (await store.update('/registry/configmaps/ns/a', { data: { n: '1' } })).revision;
      await store.update('/registry/configmaps/ns/a', { data: { n: '2' } });
      await raw.kv.compact({ revision: target });
      assert.equal(await store.compactedRevision(), target);
    } finally {
      raw.close();
      await store.close();
    }
  });
});
