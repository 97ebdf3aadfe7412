/**
 * The lean path (http/lean.ts): which requests it takes and which it leaves to Fastify, how it
 * reads bodies and writes answers — and, against the real server, that a request answered by
 * the lean path and the same request answered through Fastify (its path percent-encoded, which
 * sends it there) get the same status, the same headers in the same order and the same body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { leanListener } from '../../src/http/lean.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Raw {
  status: number;
  /** Header names (lower case) and values in the order they arrived, without Date. */
  headers: string[];
  body: string;
}

function collect(res: http.IncomingMessage, resolve: (r: Raw) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('error', reject);
  res.on('end', () => {
    const headers: string[] = [];
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      if (res.rawHeaders[i]!.toLowerCase() !== 'date') headers.push(`${res.rawHeaders[i]!.toLowerCase()}: ${res.rawHeaders[i + 1]}`);
    }
    resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
  });
}

interface Send {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent with a Content-Length, or chunked when `chunked`. */
  body?: string;
  chunked?: boolean;
}

describe('the lean listener', () => {
  const taken: string[] = [];
  const endedBeforeFallback: boolean[] = [];
  let closing = false;
  let server: http.Server;
  let port: number;

  before(async () => {
    server = http.createServer(
      leanListener({
        dispatch: async (req, reply) => {
          taken.push('lean');
          if (req.url.includes('fail')) throw new Error('boom');
          const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : null;
          return reply.code(201).header('X-First', 'one').header('Content-Type', 'application/json').send(Buffer.from(JSON.stringify({ method: req.method, url: req.url, body })));
        },
        onError: (err, _req, reply) => reply.code(500).header('Content-Type', 'text/plain').send(Buffer.from(`handled: ${(err as Error).message}`)),
        fallback: (req, res) => {
          taken.push('fallback');
          endedBeforeFallback.push(req.readableEnded);
          const answer = (): void => {
            res.writeHead(299, { 'Content-Type': 'text/plain' });
            res.end('fallback');
          };
          if (req.readableEnded) return answer();
          req.resume();
          req.on('end', answer);
        },
        bodyLimit: 100,
        maxPathLength: 60,
        closing: () => closing,
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function send(s: Send): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(s.headers ?? {}) };
      if (s.body !== undefined && !s.chunked) headers['content-length'] ??= String(Buffer.byteLength(s.body));
      const req = http.request({ host: '127.0.0.1', port, method: s.method, path: s.path, headers, agent: false }, (res) => collect(res, resolve, reject));
      req.on('error', reject);
      if (s.chunked && s.body !== undefined) req.write(s.body);
      req.end(s.chunked ? undefined : s.body);
    });
  }

  const JSON_TYPE = { 'content-type': 'application/json' };
  const cases: [string, Send, 'lean' | 'fallback'][] = [
    ['a GET of an object', { method: 'GET', path: '/api/v1/namespaces/a/pods/p' }, 'lean'],
    ['a GET of a list with a query', { method: 'GET', path: '/apis/apps/v1/deployments?limit=5' }, 'lean'],
    ['a non-API path', { method: 'GET', path: '/version' }, 'fallback'],
    ['/api itself', { method: 'GET', path: '/api' }, 'fallback'],
    ['a watch by query', { method: 'GET', path: '/api/v1/pods?watch=1' }, 'fallback'],
    ['a watch by path', { method: 'GET', path: '/api/v1/watch/pods' }, 'fallback'],
    ['a percent-encoded path', { method: 'GET', path: '/api/v1/namespaces/%61/pods' }, 'fallback'],
    ['a path longer than the router takes', { method: 'GET', path: `/api/v1/${'x'.repeat(60)}` }, 'fallback'],
    ['HEAD', { method: 'HEAD', path: '/api/v1/pods' }, 'fallback'],
    ['PUT', { method: 'PUT', path: '/api/v1/namespaces/a', headers: JSON_TYPE, body: '{}' }, 'fallback'],
    ['a JSON POST', { method: 'POST', path: '/api/v1/namespaces', headers: JSON_TYPE, body: '{"a":1}' }, 'lean'],
    ['a YAML POST', { method: 'POST', path: '/api/v1/namespaces', headers: { 'content-type': 'application/yaml' }, body: 'a: 1' }, 'lean'],
    ['a POST with an empty body', { method: 'POST', path: '/api/v1/namespaces', headers: JSON_TYPE, body: '' }, 'lean'],
    ['a POST with media type parameters', { method: 'POST', path: '/api/v1/namespaces', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' }, 'fallback'],
    ['a POST of another media type', { method: 'POST', path: '/api/v1/namespaces', headers: { 'content-type': 'text/plain' }, body: 'x' }, 'fallback'],
    ['a POST without a Content-Type', { method: 'POST', path: '/api/v1/namespaces', body: '{}' }, 'fallback'],
    ['a chunked POST', { method: 'POST', path: '/api/v1/namespaces', headers: JSON_TYPE, body: '{}', chunked: true }, 'fallback'],
    ['a POST over the body limit', { method: 'POST', path: '/api/v1/namespaces', headers: JSON_TYPE, body: `{"a":"${'x'.repeat(100)}"}` }, 'fallback'],
  ];
  for (const [name, s, expected] of cases) {
    test(`${name}: ${expected}`, async () => {
      taken.length = 0;
      const r = await send(s);
      assert.deepEqual(taken, [expected]);
      assert.equal(r.status, expected === 'lean' ? 201 : 299);
    });
  }

  test('the body arrives whole, as a Buffer, and the answer has its headers in order with a Content-Length', async () => {
    const body = JSON.stringify({ n: 'é'.repeat(20) });
    const r = await send({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', headers: JSON_TYPE, body });
    const expected = JSON.stringify({ method: 'POST', url: '/apis/authentication.k8s.io/v1/tokenreviews', body });
    assert.equal(r.body, expected);
    assert.deepEqual(r.headers.slice(0, 3), ['x-first: one', 'content-type: application/json', `content-length: ${Buffer.byteLength(expected)}`]);
  });

  test('a handler that throws is answered by the error handler', async () => {
    const r = await send({ method: 'GET', path: '/api/v1/fail' });
    assert.equal(r.status, 500);
    assert.equal(r.body, 'handled: boom');
  });

  test('a body over the limit is read to its end before Fastify answers (no reset mid-upload); a huge one is not', async () => {
    endedBeforeFallback.length = 0;
    const over = await send({ method: 'POST', path: '/api/v1/namespaces/a/configmaps', headers: JSON_TYPE, body: 'x'.repeat(150) });
    assert.equal(over.status, 299);
    const huge = await send({ method: 'POST', path: '/api/v1/namespaces/a/configmaps', headers: JSON_TYPE, body: 'x'.repeat(1000) });
    assert.equal(huge.status, 299);
    assert.deepEqual(endedBeforeFallback, [true, false]);
  });

  test('a closing server leaves every request to Fastify (which answers 503)', async () => {
    closing = true;
    try {
      taken.length = 0;
      await send({ method: 'GET', path: '/api/v1/pods' });
      assert.deepEqual(taken, ['fallback']);
    } finally {
      closing = false;
    }
  });
});

describe('the lean path and Fastify answer alike', () => {
  let ts: TestServer;
  let ns: string;
  let token: string;
  let nobody: { cert: string; key: string };

  before(async () => {
    ts = await startTestServer();
    ns = await ts.namespace('lean');
    const cm = await ts.admin.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { a: 'b' } });
    assert.equal(cm.status, 201, cm.text);
    const minted = await ts.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/default/token`, { spec: {} });
    assert.equal(minted.status, 201, minted.text);
    token = minted.json().status.token;
    const { issueCertificate } = await import('../../src/pki/certs.js');
    const pair = await issueCertificate(ts.handle.pki.ca, { commonName: 'nobody', organizations: [], client: true });
    nobody = { cert: pair.certPem, key: pair.keyPem };
  });
  after(() => ts?.close());

  function send(s: Send, id?: { cert: string; key: string }): Promise<Raw> {
    const url = new URL(ts.url);
    const pki = ts.handle.pki;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json', ...(s.headers ?? {}) };
      if (s.body !== undefined) headers['content-length'] = String(Buffer.byteLength(s.body));
      const req = https.request(
        { host: url.hostname, port: url.port, method: s.method, path: s.path, headers, agent: false, ca: pki.ca.certPem, cert: id?.cert ?? pki.admin.certPem, key: id?.key ?? pki.admin.keyPem },
        (res) => collect(res, resolve, reject),
      );
      req.on('error', reject);
      req.end(s.body);
    });
  }

  /** `/api/…` → `/%61pi/…`: the same request, which the lean path leaves to Fastify. */
  const viaFastify = (path: string): string => path.replace(/^\/(api|apis)\//, (m) => `/%61${m.slice(2)}`);

  const review = (body: object): Send => ({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const TR = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' };

  const cases: [string, () => Send, ('nobody' | 'admin')?][] = [
    ['GET an object', () => ({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps/one` })],
    ['GET a list', () => ({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps?limit=10` })],
    ['GET a Table', () => ({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps/one`, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })],
    ['GET a missing object (404)', () => ({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps/none` })],
    ['GET an unknown resource (404)', () => ({ method: 'GET', path: '/api/v1/frobnicators' })],
    ['GET a group version (discovery)', () => ({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1' })],
    ['GET without permission (403)', () => ({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps/one` }), 'nobody'],
    ['TokenReview of a valid token', () => review({ ...TR, spec: { token } })],
    ['TokenReview with audiences', () => review({ ...TR, spec: { token, audiences: ['https://kubernetes.default.svc.cluster.local', 'other'] } })],
    ['TokenReview of a bad token', () => review({ ...TR, spec: { token: 'not.a.token' } })],
    ['TokenReview without a token (400)', () => review({ ...TR, spec: {} })],
    ['TokenReview with an unknown field (Warning)', () => review({ ...TR, spec: { token, bogus: 1 } })],
    ['TokenReview with an unknown field, Strict (400)', () => ({ ...review({ ...TR, spec: { token, bogus: 1 } }), path: '/apis/authentication.k8s.io/v1/tokenreviews?fieldValidation=Strict' })],
    ['TokenReview of the wrong kind (400)', () => review({ apiVersion: 'v1', kind: 'Pod', spec: { token } })],
    ['TokenReview without permission (403)', () => review({ ...TR, spec: { token } }), 'nobody'],
    ['malformed JSON (400)', () => ({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, headers: { 'content-type': 'application/json' }, body: '{"kind":' })],
    ['malformed YAML (400)', () => ({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, headers: { 'content-type': 'application/yaml' }, body: 'a: [' })],
    ['an empty body (400)', () => ({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, headers: { 'content-type': 'application/json' }, body: '' })],
    ['a create that exists (409)', () => ({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' } }) })],
    ['an invalid create (422)', () => ({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' } }) })],
  ];
  for (const [name, make, who] of cases) {
    test(name, async () => {
      const s = make();
      const id = who === 'nobody' ? nobody : undefined;
      const lean = await send(s, id);
      const fastify = await send({ ...s, path: viaFastify(s.path) }, id);
      assert.deepEqual(lean, fastify);
    });
  }

  test('SelfSubjectReview (its creation time aside)', async () => {
    const s: Send = { method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', headers: { 'content-type': 'application/json' }, body: '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' };
    const normalise = (r: Raw): Raw => ({ ...r, body: r.body.replace(/"creationTimestamp":"[^"]+"/, '"creationTimestamp":"<time>"') });
    const lean = await send(s);
    const fastify = await send({ ...s, path: viaFastify(s.path) });
    assert.equal(lean.status, 201, lean.body);
    assert.match(lean.body, /"creationTimestamp":"\d{4}-/);
    assert.deepEqual(normalise(lean), normalise(fastify));
  });

  test('TokenRequest (the token and the times aside)', async () => {
    const s: Send = { method: 'POST', path: `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, headers: { 'content-type': 'application/json' }, body: '{"spec":{"expirationSeconds":3600}}' };
    const normalise = (r: Raw): Raw => {
      const body = JSON.parse(r.body) as { metadata: { creationTimestamp?: string }; status: { token?: string; expirationTimestamp?: string } };
      assert.ok(body.status.token);
      body.status = { ...body.status, token: '<token>', expirationTimestamp: '<time>' };
      body.metadata.creationTimestamp = '<time>';
      return { ...r, headers: r.headers.filter((h) => !h.startsWith('content-length:')), body: JSON.stringify(body) };
    };
    const lean = await send(s);
    const fastify = await send({ ...s, path: viaFastify(s.path) });
    assert.equal(lean.status, 201, lean.body);
    assert.deepEqual(normalise(lean), normalise(fastify));
  });
});
