import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { authMiddleware, createVerifier, withAuth, type Verifier } from '@boundtoken/client';
import { authHook, boundtokenAuth } from '@boundtoken/client/fastify';
import { createTestPki } from './helpers/pki.ts';
import { SA, signToken, testKeys } from './helpers/issuer.ts';

const ISSUER = 'https://issuer.test';
const NOW = 1_800_000_000;
const now = () => NOW * 1000;
const key = testKeys().ec;
const verifier: Verifier = createVerifier({ issuer: ISSUER, audiences: ['istio-ca'], keys: [key], now });
const good = signToken(key, ISSUER, NOW);
const expired = signToken(key, ISSUER, NOW - 7200);
const vaultOnly = signToken(key, ISSUER, NOW, { audiences: ['vault'] });

interface Answer {
  status: number;
  www: string | null;
  body: Record<string, unknown>;
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { headers });
  return { status: res.status, www: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, unknown> };
}

/** The same table for every framework: what a request carries → what comes back. */
function table(header: 'authorization' | 'x-auth-token') {
  const put = (token: string): Record<string, string> => (header === 'authorization' ? { authorization: `Bearer ${token}` } : { 'x-auth-token': token });
  const missing = header === 'authorization' ? 'no token in the Authorization header' : 'no token in the X-Auth-Token header';
  return [
    { name: 'valid token', headers: put(good), status: 200 },
    { name: 'no token', headers: {}, status: 401, code: 'ERR_TOKEN_MISSING', www: 'Bearer realm="mesh"', reason: missing },
    {
      name: 'expired',
      headers: put(expired),
      status: 401,
      code: 'ERR_TOKEN_EXPIRED',
      www: 'Bearer realm="mesh", error="invalid_token", error_description="service account token has expired"',
    },
    {
      name: 'wrong audience (quotes in the reason are made header-safe)',
      headers: put(vaultOnly),
      status: 401,
      code: 'ERR_TOKEN_AUDIENCE_INVALID',
      www: `Bearer realm="mesh", error="invalid_token", error_description="token audiences ['vault'] is invalid for the target audiences ['istio-ca']"`,
    },
    { name: 'garbage', headers: put('garbage'), status: 401, code: 'ERR_TOKEN_MALFORMED' },
    ...(header === 'authorization'
      ? [
          { name: 'Basic scheme', headers: { authorization: `Basic ${good}` }, status: 401, code: 'ERR_TOKEN_MISSING', reason: 'the Authorization header does not use the Bearer scheme' },
          { name: 'lower-case bearer', headers: { authorization: `bearer  ${good}` }, status: 200 },
          { name: 'token in X-Auth-Token is not looked at', headers: { 'x-auth-token': good }, status: 401, code: 'ERR_TOKEN_MISSING' },
        ]
      : [
          { name: 'Bearer prefix accepted in the custom header', headers: { 'x-auth-token': `Bearer ${good}` }, status: 200 },
          { name: 'Authorization is not looked at', headers: { authorization: `Bearer ${good}` }, status: 401, code: 'ERR_TOKEN_MISSING' },
        ]),
  ] as { name: string; headers: Record<string, string>; status: number; code?: string; www?: string; reason?: string }[];
}

async function runTable(url: string, header: 'authorization' | 'x-auth-token'): Promise<void> {
  for (const c of table(header)) {
    const a = await get(url, c.headers);
    assert.equal(a.status, c.status, `${c.name}: ${JSON.stringify(a.body)}`);
    if (c.status === 200) {
      assert.equal(a.body.sa, SA.name, c.name);
      assert.equal(a.body.pod, 'collector-0', c.name);
      continue;
    }
    assert.equal(a.body.code, c.code, c.name);
    if (c.www) assert.equal(a.www, c.www, c.name);
    else assert.match(a.www ?? '', /^Bearer realm="mesh"/, c.name);
    if (c.reason) assert.equal(a.body.error_description, c.reason, c.name);
  }
}

const echo = (identity: { serviceAccount: { name: string }; pod?: { name: string } } | undefined) =>
  JSON.stringify({ sa: identity?.serviceAccount.name, pod: identity?.pod?.name });

describe('node:http', () => {
  for (const header of ['authorization', 'x-auth-token'] as const) {
    test(`withAuth (${header})`, async () => {
      const srv = await listen(
        withAuth({ verifier, header, realm: 'mesh' }, (req, res) => {
          res.setHeader('Content-Type', 'application/json');
          res.end(echo(req.identity));
        }),
      );
      try {
        await runTable(srv.url, header);
      } finally {
        await srv.close();
      }
    });
  }

  test('required audiences override the verifier\'s; rejections are reported', async () => {
    const rejected: string[] = [];
    const srv = await listen(
      withAuth({ verifier, audiences: ['vault'], onReject: (e) => rejected.push(e.code) }, (req, res) => res.end(echo(req.identity))),
    );
    try {
      assert.equal((await get(srv.url, { authorization: `Bearer ${vaultOnly}` })).status, 200);
      const a = await get(srv.url, { authorization: `Bearer ${good}` });
      assert.equal(a.status, 401);
      assert.equal(a.www, `Bearer error="invalid_token", error_description="token audiences ['istio-ca'] is invalid for the target audiences ['vault']"`);
      assert.deepEqual(rejected, ['ERR_TOKEN_AUDIENCE_INVALID']);
    } finally {
      await srv.close();
    }
  });

  test('a verifier that cannot fetch its keys answers 503, not 401', async () => {
    const pki = createTestPki();
    const down = createVerifier({ issuer: 'https://127.0.0.1:9', audiences: ['istio-ca'], fetch: { ca: pki.caCert, timeoutMs: 500 } });
    const srv = await listen(withAuth({ verifier: down }, (_req, res) => res.end('{}')));
    try {
      const a = await get(srv.url, { authorization: `Bearer ${good}` });
      assert.equal(a.status, 503);
      assert.equal(a.www, null);
      assert.equal(a.body.code, 'ERR_DISCOVERY');
    } finally {
      await srv.close();
      down.close();
      pki.cleanup();
    }
  });

  test('misuse throws TypeError', () => {
    assert.throws(() => authMiddleware({} as never), TypeError);
    assert.throws(() => authMiddleware({ verifier, header: 'bad header' }), TypeError);
  });
});

describe('Express', () => {
  for (const header of ['authorization', 'x-auth-token'] as const) {
    test(`authMiddleware (${header})`, async () => {
      const app = express();
      app.use(authMiddleware({ verifier, header, realm: 'mesh' }));
      app.get('/', (req, res) => {
        res.type('json').send(echo(req.identity));
      });
      const srv = await listen(app);
      try {
        await runTable(srv.url, header);
      } finally {
        await srv.close();
      }
    });
  }
});

describe('Fastify', () => {
  let app: FastifyInstance;
  before(async () => {
    app = Fastify();
    await app.register(async (scoped) => {
      await scoped.register(boundtokenAuth, { verifier, realm: 'mesh' });
      scoped.get('/bearer', async (req, reply) => reply.type('application/json').send(echo(req.identity)));
    });
    app.get('/custom', { onRequest: authHook({ verifier, header: 'x-auth-token', realm: 'mesh' }) }, async (req, reply) =>
      reply.type('application/json').send(echo(req.identity)),
    );
    app.get('/open', async () => ({ open: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  test('plugin (authorization) and route hook (x-auth-token)', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await runTable(`${base}/bearer`, 'authorization');
    await runTable(`${base}/custom`, 'x-auth-token');
  });

  test('the plugin protects only the scope it is registered in', async () => {
    const res = await app.inject({ method: 'GET', url: '/open' });
    assert.equal(res.statusCode, 200);
    const denied = await app.inject({ method: 'GET', url: '/bearer' });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.json().code, 'ERR_TOKEN_MISSING');
  });
});
