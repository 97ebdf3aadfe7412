import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { WatchEvent } from '@boundtoken/api';
import { ApiError, createKubeClient, parseWarningHeader, resourcePath } from '@boundtoken/client';
import { createTestPki } from '../helpers/pki.ts';
import { sendJson, startHttpsServer, statusBody } from '../helpers/https-server.ts';
import type { TestServer } from '../helpers/https-server.ts';

const pki = createTestPki();
let srv: TestServer;
let mtls: TestServer;

before(async () => {
  srv = await startHttpsServer(pki);
  mtls = await startHttpsServer(pki, { requestCert: true });
});
after(async () => {
  await srv.close();
  await mtls.close();
  pki.cleanup();
});

async function rejectsWith(p: Promise<unknown>, code: string, check?: (err: ApiError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err);
    return true;
  });
}

describe('requests', () => {
  test('GET sends Accept, User-Agent and the bearer token, and parses JSON', async () => {
    srv.handle((req, res) => sendJson(res, 200, { kind: 'Pod', metadata: { name: 'p', namespace: req.headers.authorization } }));
    const client = createKubeClient({ server: srv.url, ca: pki.caCert, token: 'tok-1' }, { userAgent: 'test-agent/1' });
    const pod = await client.get('/api/v1/namespaces/ns/pods/p');
    assert.equal(pod.metadata?.namespace, 'Bearer tok-1');
    const seen = srv.requests.at(-1)!;
    assert.equal(seen.headers.accept, 'application/json');
    assert.equal(seen.headers['user-agent'], 'test-agent/1');
    client.close();
  });

  test('a token function is called for every request (rotation)', async () => {
    srv.handle((req, res) => sendJson(res, 200, { auth: req.headers.authorization }));
    let n = 0;
    const client = createKubeClient({ server: srv.url, ca: pki.caCert, token: () => `t${++n}` });
    const a = await client.request<{ auth: string }>('GET', '/x');
    const b = await client.request<{ auth: string }>('GET', '/x');
    assert.deepEqual([a.body.auth, b.body.auth], ['Bearer t1', 'Bearer t2']);
    client.close();
  });

  test('client certificate authentication', async () => {
    mtls.handle((_req, res) => sendJson(res, 200, { ok: true }));
    const client = createKubeClient({ server: mtls.url, ca: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey });
    await client.request('GET', '/version');
    assert.equal(mtls.requests.at(-1)!.clientCN, 'admin');
    assert.equal(mtls.requests.at(-1)!.headers.authorization, undefined);
    client.close();
  });

  test('TLS: wrong CA fails to connect, insecureSkipTLSVerify and tlsServerName work', async () => {
    srv.handle((_req, res) => sendJson(res, 200, {}));
    const wrong = createKubeClient({ server: srv.url, ca: pki.otherCaCert });
    await rejectsWith(wrong.request('GET', '/version'), 'ERR_API_CONNECTION', (err) => assert.match(err.message, /cannot reach/));
    wrong.close();
    const insecure = createKubeClient({ server: srv.url, ca: pki.otherCaCert, insecureSkipTLSVerify: true });
    assert.equal((await insecure.request('GET', '/version')).statusCode, 200);
    insecure.close();
    const named = createKubeClient({ server: srv.url, ca: pki.caCert, tlsServerName: 'api.test.local' });
    assert.equal((await named.request('GET', '/version')).statusCode, 200);
    named.close();
    const misnamed = createKubeClient({ server: srv.url, ca: pki.caCert, tlsServerName: 'other.test.local' });
    await rejectsWith(misnamed.request('GET', '/version'), 'ERR_API_CONNECTION');
    misnamed.close();
  });

  test('non-2xx answers are ApiError with the Status parsed', async () => {
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    const cases: { status: number; body: unknown; reason: string | undefined; message: RegExp }[] = [
      { status: 404, body: statusBody(404, 'NotFound', 'pods "p" not found'), reason: 'NotFound', message: /404 pods "p" not found/ },
      { status: 409, body: statusBody(409, 'Conflict', 'conflict!'), reason: 'Conflict', message: /conflict!/ },
      { status: 401, body: statusBody(401, 'Unauthorized', 'Unauthorized'), reason: 'Unauthorized', message: /401 Unauthorized/ },
      { status: 503, body: 'upstream down', reason: undefined, message: /503 upstream down/ },
      { status: 500, body: '', reason: undefined, message: /500 Internal Server Error/ },
    ];
    for (const c of cases) {
      srv.handle((_req, res) => {
        if (typeof c.body === 'string') {
          res.writeHead(c.status, { 'Content-Type': 'text/plain' });
          res.end(c.body);
        } else sendJson(res, c.status, c.body);
      });
      await rejectsWith(client.get('/api/v1/namespaces/ns/pods/p'), 'ERR_API_STATUS', (err) => {
        assert.equal(err.statusCode, c.status);
        assert.equal(err.reason, c.reason);
        assert.match(err.message, c.message);
        if (c.reason) assert.equal(err.status?.kind, 'Status');
        else assert.equal(err.status, undefined);
      });
    }
    client.close();
  });

  test('a 2xx answer that is not JSON is ERR_API_RESPONSE; text types come back as strings', async () => {
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    srv.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"truncated":');
    });
    await rejectsWith(client.get('/x'), 'ERR_API_RESPONSE', (err) => assert.equal(err.statusCode, 200));
    srv.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    assert.equal((await client.request('GET', '/healthz')).body, 'ok');
    client.close();
  });

  test('per-request timeout, refused connections and abort signals', async () => {
    srv.handle(() => {
      /* never answers */
    });
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    await rejectsWith(client.get('/slow', { timeoutMs: 150 }), 'ERR_API_TIMEOUT');
    const ac = new AbortController();
    const p = client.get('/slow', { signal: ac.signal });
    ac.abort(new Error('caller gave up'));
    await assert.rejects(p, /caller gave up/);
    client.close();

    const free = net.createServer();
    free.listen(0, '127.0.0.1');
    await once(free, 'listening');
    const port = (free.address() as net.AddressInfo).port;
    free.close();
    const refused = createKubeClient({ server: `https://127.0.0.1:${port}`, ca: pki.caCert });
    await rejectsWith(refused.get('/x'), 'ERR_API_CONNECTION', (err) => assert.match(err.message, /ECONNREFUSED/));
  });

  test('Warning headers are surfaced', async () => {
    srv.handle((_req, res) => {
      res.setHeader('Warning', ['299 - "requested expiration of 86400 seconds shortened to 3600 seconds"', '299 - "a \\"quoted\\" one"']);
      sendJson(res, 201, { status: { token: 't' } });
    });
    const warnings: string[] = [];
    const client = createKubeClient(
      { server: srv.url, ca: pki.caCert },
      { onWarning: (w, r) => warnings.push(`${r.method} ${w}`) },
    );
    await client.create('/api/v1/namespaces/ns/serviceaccounts/sa/token', { spec: {} });
    assert.deepEqual(warnings, [
      'POST requested expiration of 86400 seconds shortened to 3600 seconds',
      'POST a "quoted" one',
    ]);
    client.close();
  });

  test('bodies: JSON for create/update/delete, the patch content types, raw strings with a type, query encoding', async () => {
    srv.handle((req, res, body) =>
      sendJson(res, 200, { method: req.method, url: req.url, type: req.headers['content-type'] ?? null, body: body.toString() }),
    );
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    type Echo = { method: string; url: string; type: string | null; body: string };
    const created = (await client.create('/api/v1/namespaces', { metadata: { name: 'a' } })) as unknown as Echo;
    assert.deepEqual(created, { method: 'POST', url: '/api/v1/namespaces', type: 'application/json', body: '{"metadata":{"name":"a"}}' });
    const updated = (await client.update('/api/v1/namespaces/a', { x: 1 })) as unknown as Echo;
    assert.equal(updated.method, 'PUT');
    const patches = [
      ['json', 'application/json-patch+json'],
      ['merge', 'application/merge-patch+json'],
      ['strategic', 'application/strategic-merge-patch+json'],
      ['apply', 'application/apply-patch+yaml'],
    ] as const;
    for (const [type, contentType] of patches) {
      const echo = (await client.patch('/api/v1/namespaces/a', { metadata: { labels: { x: 'y' } } }, type, { query: { fieldManager: 'me' } })) as unknown as Echo;
      assert.deepEqual(echo, { method: 'PATCH', url: '/api/v1/namespaces/a?fieldManager=me', type: contentType, body: '{"metadata":{"labels":{"x":"y"}}}' });
    }
    const deleted = await client.delete<Echo>('/api/v1/namespaces/a', { propagationPolicy: 'Background' });
    assert.equal(deleted.body, '{"propagationPolicy":"Background"}');
    const raw = await client.request<Echo>('POST', '/raw', 'kind: X', { contentType: 'application/yaml' });
    assert.deepEqual([raw.body.type, raw.body.body], ['application/yaml', 'kind: X']);
    const q = await client.request<Echo>('GET', '/api/v1/pods', undefined, {
      query: { fieldSelector: 'spec.nodeName=n 1', limit: 5, watch: false, skipped: undefined },
    });
    assert.equal(q.body.url, '/api/v1/pods?fieldSelector=spec.nodeName%3Dn+1&limit=5&watch=false');
    client.close();
  });

  test('a server URL with a path prefix is kept', async () => {
    srv.handle((req, res) => sendJson(res, 200, { url: req.url }));
    const client = createKubeClient({ server: `${srv.url}/k8s/clusters/c1/`, ca: pki.caCert });
    assert.equal((await client.request<{ url: string }>('GET', '/api/v1/pods')).body.url, '/k8s/clusters/c1/api/v1/pods');
    client.close();
  });

  test('caller misuse throws TypeError', () => {
    assert.throws(() => createKubeClient({ server: 'not a url' }), TypeError);
    assert.throws(() => createKubeClient({ server: 'ftp://x' }), TypeError);
  });
});

describe('watch', () => {
  function collect(client: ReturnType<typeof createKubeClient>, path: string, query?: Record<string, string>) {
    return new Promise<{ events: WatchEvent[]; err: Error | undefined }>((resolve) => {
      const events: WatchEvent[] = [];
      client.watch(path, {
        ...(query ? { query } : {}),
        onEvent: (e) => events.push(e),
        onClose: (err) => resolve({ events, err }),
      });
    });
  }

  test('events split at every byte (multi-byte UTF-8 too) are reassembled; ERROR events carry the Status', async () => {
    const lines = [
      { type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'p1', resourceVersion: '5' } } },
      { type: 'MODIFIED', object: { kind: 'Pod', metadata: { name: 'p1', resourceVersion: '6', annotations: { note: 'héllo ✓ 🚀' } } } },
      { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '9' } } },
      { type: 'ERROR', object: statusBody(410, 'Expired', 'too old resource version: 1 (9)') },
    ];
    const payload = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    srv.handle(async (req, res) => {
      assert.match(req.url ?? '', /watch=1/);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < payload.length; i++) {
        res.write(payload.subarray(i, i + 1));
        if (i % 97 === 0) await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    const { events, err } = await collect(client, '/api/v1/pods', { resourceVersion: '4' });
    assert.equal(err, undefined);
    assert.deepEqual(events, lines);
    assert.match(srv.requests.at(-1)!.url, /^\/api\/v1\/pods\?watch=1&resourceVersion=4$/);
    client.close();
  });

  test('a non-2xx watch closes with the ApiError; a bad line closes with ERR_API_RESPONSE', async () => {
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    srv.handle((_req, res) => sendJson(res, 410, statusBody(410, 'Expired', 'too old')));
    const gone = await collect(client, '/api/v1/pods');
    assert.ok(gone.err instanceof ApiError);
    assert.equal((gone.err as ApiError).statusCode, 410);
    assert.equal((gone.err as ApiError).reason, 'Expired');

    srv.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"type":"ADDED","object":{}}\n{oops}\n{"type":"ADDED","object":{}}\n');
    });
    const bad = await collect(client, '/api/v1/pods');
    assert.equal(bad.events.length, 1);
    assert.equal((bad.err as ApiError).code, 'ERR_API_RESPONSE');

    srv.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"type":"NOPE","object":{}}\n');
    });
    assert.equal(((await collect(client, '/api/v1/pods')).err as ApiError).code, 'ERR_API_RESPONSE');
    client.close();
  });

  test('stop() ends the stream without calling onClose; a dropped connection is ERR_API_CONNECTION', async () => {
    const client = createKubeClient({ server: srv.url, ca: pki.caCert });
    srv.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    });
    let closed = 0;
    const first = new Promise<void>((resolve) => {
      const h = client.watch('/api/v1/pods', {
        onEvent: () => {
          h.stop();
          resolve();
        },
        onClose: () => closed++,
      });
    });
    await first;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, 0);

    srv.handle((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n', () => req.socket.destroy());
    });
    const dropped = await collect(client, '/api/v1/pods');
    assert.equal(dropped.events.length, 1);
    assert.equal((dropped.err as ApiError).code, 'ERR_API_CONNECTION');
    client.close();
  });
});

test('resourcePath', () => {
  const cases: [Parameters<typeof resourcePath>[0], string][] = [
    [{ resource: 'pods' }, '/api/v1/pods'],
    [{ resource: 'pods', namespace: 'ns', name: 'p', subresource: 'status' }, '/api/v1/namespaces/ns/pods/p/status'],
    [{ resource: 'serviceaccounts', namespace: 'ns', name: 'sa', subresource: 'token' }, '/api/v1/namespaces/ns/serviceaccounts/sa/token'],
    [{ group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' }, '/apis/authentication.k8s.io/v1/tokenreviews'],
    [{ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', namespace: 'ns', name: 'r:x' }, '/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles/r%3Ax'],
    [{ resource: 'nodes', name: 'n1' }, '/api/v1/nodes/n1'],
  ];
  for (const [ref, path] of cases) assert.equal(resourcePath(ref), path);
  assert.throws(() => resourcePath({ resource: 'pods', name: 'a/b' }), TypeError);
  assert.throws(() => resourcePath({ resource: 'pods', name: '..' }), TypeError);
  assert.throws(() => resourcePath({ resource: 'pods', subresource: 'status' }), TypeError);
});

test('parseWarningHeader', () => {
  assert.deepEqual(parseWarningHeader('299 - "one", 299 - "two, with comma"'), ['one', 'two, with comma']);
  assert.deepEqual(parseWarningHeader('299 - "with date" "Sat, 28 Nov 2026 22:00:00 GMT"'), ['with date']);
  assert.deepEqual(parseWarningHeader('free text'), ['free text']);
});
