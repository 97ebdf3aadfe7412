import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { createInformer, createKubeClient } from '@boundtoken/client';
import { createTestPki } from '../helpers/pki.ts';
import { sendJson, startHttpsServer, statusBody } from '../helpers/https-server.ts';
import type { TestServer } from '../helpers/https-server.ts';

/** A tiny pods collection with a revision counter, an event history that can be compacted, and watches. */
class FakeCollection {
  rv = 10;
  objects = new Map<string, KubeObject>();
  history: { rv: number; type: string; object: KubeObject }[] = [];
  compactedThrough = 0;
  watches = new Set<ServerResponse>();
  failWatches = 0;
  watchMode: 'event' | 'http' = 'event';

  put(name: string, data: string): void {
    const type = this.objects.has(name) ? 'MODIFIED' : 'ADDED';
    const obj = { kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: String(++this.rv) }, data };
    this.objects.set(name, obj);
    this.record(type, obj);
  }

  remove(name: string): void {
    const obj = this.objects.get(name)!;
    this.objects.delete(name);
    this.record('DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  private record(type: string, object: KubeObject): void {
    this.history.push({ rv: this.rv, type, object });
    for (const w of this.watches) w.write(JSON.stringify({ type, object }) + '\n');
  }

  compact(): void {
    this.compactedThrough = this.rv;
    this.history = [];
  }

  closeWatches(): void {
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  handler(): Parameters<TestServer['handle']>[0] {
    return (req, res) => {
      const url = new URL(req.url!, 'https://x');
      const q = url.searchParams;
      if (q.get('watch') === '1') {
        if (this.failWatches > 0) {
          this.failWatches--;
          sendJson(res, 500, statusBody(500, 'InternalError', 'etcd is sad'));
          return;
        }
        const from = Number(q.get('resourceVersion'));
        if (from < this.compactedThrough) {
          const gone = statusBody(410, 'Expired', `too old resource version: ${from} (${this.compactedThrough})`);
          if (this.watchMode === 'http') {
            sendJson(res, 410, gone);
            return;
          }
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        for (const h of this.history) if (h.rv > from) res.write(JSON.stringify({ type: h.type, object: h.object }) + '\n');
        this.watches.add(res);
        res.on('close', () => this.watches.delete(res));
        return;
      }
      const all = [...this.objects.values()];
      const limit = Number(q.get('limit') ?? all.length);
      const start = Number(q.get('continue') ?? 0);
      const items = all.slice(start, start + limit);
      const next = start + limit < all.length ? String(start + limit) : undefined;
      sendJson(res, 200, { kind: 'PodList', metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) }, items });
    };
  }
}

const pki = createTestPki();
let srv: TestServer;
before(async () => {
  srv = await startHttpsServer(pki);
});
after(async () => {
  await srv.close();
  pki.cleanup();
});

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('informer: paged list, watch events, resume after a clean close, relist after 410 (event and HTTP)', async () => {
  const api = new FakeCollection();
  for (const n of ['a', 'b', 'c']) api.put(n, 'v1');
  srv.handle(api.handler());
  const client = createKubeClient({ server: srv.url, ca: pki.caCert });
  const informer = createInformer(client, { path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=n1' }, pageSize: 2, initialBackoffMs: 5 });
  const log: string[] = [];
  const errors: Error[] = [];
  informer.on({
    add: (o) => log.push(`add ${o.metadata?.name}`),
    update: (o, old) => log.push(`update ${o.metadata?.name} ${String(old.data)}->${String(o.data)}`),
    delete: (o) => log.push(`delete ${o.metadata?.name}`),
    error: (e) => errors.push(e),
  });
  await informer.start();
  assert.equal(informer.synced, true);
  assert.deepEqual(log.splice(0), ['add a', 'add b', 'add c']);
  assert.deepEqual(informer.list().map((o) => o.metadata?.name), ['a', 'b', 'c']);
  assert.equal(informer.resourceVersion, '13');
  const lists = srv.requests.filter((r) => !r.url.includes('watch=1'));
  assert.equal(lists.length, 2, 'two pages');
  assert.match(lists[0]!.url, /fieldSelector=spec.nodeName%3Dn1&limit=2$/);

  await until(() => api.watches.size === 1, 'the watch');
  assert.match(srv.requests.at(-1)!.url, /watch=1&fieldSelector=spec.nodeName%3Dn1&resourceVersion=13&allowWatchBookmarks=true&timeoutSeconds=\d+/);
  api.put('d', 'v1');
  api.put('a', 'v2');
  api.remove('b');
  await until(() => log.length === 3, 'watch events');
  assert.deepEqual(log.splice(0), ['add d', 'update a v1->v2', 'delete b']);
  assert.equal(informer.get('ns/a')?.data, 'v2');
  assert.equal(informer.get('ns/b'), undefined);
  assert.equal(informer.resourceVersion, '16');

  // The server ends the watch cleanly: the informer resumes from where it was.
  api.closeWatches();
  await until(() => api.watches.size === 1, 'the resumed watch');
  assert.match(srv.requests.at(-1)!.url, /resourceVersion=16/);

  // Changes happen while the informer's history window is compacted away: ERROR 410 → relist.
  const gaps = [
    { mode: 'event', removed: 'd', before: 'v1' },
    { mode: 'http', removed: 'a', before: 'gap-event' },
  ] as const;
  for (const { mode, removed, before } of gaps) {
    api.watchMode = mode;
    assert.equal(api.watches.size, 1);
    const rvBefore = Number(informer.resourceVersion);
    api.watches.clear(); // the informer does not see the next changes live
    api.put('c', `gap-${mode}`);
    api.put(`e-${mode}`, 'v1');
    api.remove(removed);
    api.compact();
    const listsBefore = srv.requests.filter((r) => !r.url.includes('watch=1')).length;
    srv.server.closeAllConnections(); // the watch drops; it comes back from a compacted resourceVersion
    await until(() => srv.requests.filter((r) => !r.url.includes('watch=1')).length > listsBefore && api.watches.size === 1, `relist (${mode})`);
    assert.ok(Number(informer.resourceVersion) > rvBefore);
    assert.deepEqual(log.splice(0).sort(), [`add e-${mode}`, `delete ${removed}`, `update c ${before}->gap-${mode}`]);
    assert.deepEqual(informer.list().map((o) => o.metadata?.name).sort(), [...api.objects.keys()].sort());
  }
  assert.ok(errors.every((e) => /closed mid-stream|socket hang up|ECONNRESET/.test(e.message)), errors.map((e) => e.message).join('\n'));
  informer.stop();
  client.close();
});

test('informer: failed watches are retried with backoff and reported', async () => {
  const api = new FakeCollection();
  api.put('a', 'v1');
  api.failWatches = 2;
  srv.handle(api.handler());
  const client = createKubeClient({ server: srv.url, ca: pki.caCert });
  const informer = createInformer(client, { path: '/api/v1/pods', initialBackoffMs: 5, maxBackoffMs: 20 });
  const errors: Error[] = [];
  informer.on({ error: (e) => errors.push(e) });
  await informer.start();
  await until(() => api.watches.size === 1, 'the watch after retries');
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.message, /500 etcd is sad/);
  api.put('b', 'v1');
  await until(() => informer.get('ns/b') !== undefined, 'event after retry');
  informer.stop();
  client.close();
});

test('informer: stop() before the first list rejects start(); a throwing handler does not break it', async () => {
  srv.handle(() => {
    /* never answers */
  });
  const client = createKubeClient({ server: srv.url, ca: pki.caCert });
  const informer = createInformer(client, { path: '/api/v1/pods' });
  const started = informer.start();
  informer.stop();
  await assert.rejects(started, /stopped before its first list/);
  client.close();

  const api = new FakeCollection();
  api.put('a', 'v1');
  srv.handle(api.handler());
  const client2 = createKubeClient({ server: srv.url, ca: pki.caCert });
  const inf2 = createInformer(client2, { path: '/api/v1/pods' });
  const errors: Error[] = [];
  const seen: string[] = [];
  inf2.on({ add: () => { throw new Error('handler bug'); }, error: (e) => errors.push(e) });
  inf2.on({ add: (o) => seen.push(o.metadata!.name!) });
  await inf2.start();
  assert.deepEqual(seen, ['a']);
  assert.match(errors[0]!.message, /handler bug/);
  inf2.stop();
  client2.close();
});
