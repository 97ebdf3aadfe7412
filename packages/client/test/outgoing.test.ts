import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { TokenFile, withToken } from '@boundtoken/client';
import { tokenInterceptor } from '@boundtoken/client/undici';
import { atomicWrite } from './helpers/atomic-writer.ts';
import { fakeJwt } from './helpers/jwt.ts';

let server: http.Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'bt-outgoing-'));
let tf: TokenFile;

before(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ authorization: req.headers.authorization ?? null, xAuth: req.headers['x-auth-token'] ?? null, other: req.headers['x-other'] ?? null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  atomicWrite(dir, { token: fakeJwt(1) });
  tf = await TokenFile.open(join(dir, 'token'));
});
after(async () => {
  tf.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

type Echo = { authorization: string | null; xAuth: string | null; other: string | null };

async function rotate(n: number): Promise<string> {
  const next = fakeJwt(n);
  const seen = new Promise<void>((resolve) => {
    const off = tf.onChange(() => {
      off();
      resolve();
    });
  });
  atomicWrite(dir, { token: next });
  await seen;
  return next;
}

test('withToken: each request carries the current token, including after a rotation', async () => {
  const f = withToken(tf);
  const a = (await (await f(url, { headers: { 'x-other': 'kept' } })).json()) as Echo;
  assert.deepEqual(a, { authorization: `Bearer ${tf.token}`, xAuth: null, other: 'kept' });
  const next = await rotate(2);
  const b = (await (await f(new Request(url, { headers: { 'x-other': 'from-request' } }))).json()) as Echo;
  assert.deepEqual(b, { authorization: `Bearer ${next}`, xAuth: null, other: 'from-request' });
});

test('withToken: custom header without a scheme, the caller\'s header wins unless override, other sources', async () => {
  const x = withToken(tf, { header: 'X-Auth-Token' });
  assert.equal(((await (await x(url)).json()) as Echo).xAuth, tf.token);
  const plain = withToken(tf);
  assert.equal(((await (await plain(url, { headers: { authorization: 'Bearer mine' } })).json()) as Echo).authorization, 'Bearer mine');
  const forced = withToken(tf, { override: true });
  assert.equal(((await (await forced(url, { headers: { authorization: 'Bearer mine' } })).json()) as Echo).authorization, `Bearer ${tf.token}`);
  let n = 0;
  const fn = withToken(() => `t${++n}`, { fetch: undiciFetch as unknown as typeof fetch });
  assert.equal(((await (await fn(url)).json()) as Echo).authorization, 'Bearer t1');
  assert.equal(((await (await fn(url)).json()) as Echo).authorization, 'Bearer t2');
  assert.throws(() => withToken(42 as never), TypeError);
  assert.throws(() => withToken(tf, { header: 'bad header' }), TypeError);
});

test('undici: tokenInterceptor on a composed Agent (object, array and no headers)', async () => {
  const agent = new Agent().compose(tokenInterceptor(tf));
  try {
    const read = async (headers?: Record<string, string> | string[]) => {
      const res = await request(url, { dispatcher: agent, ...(headers ? { headers } : {}) });
      return (await res.body.json()) as Echo;
    };
    assert.equal((await read()).authorization, `Bearer ${tf.token}`);
    assert.deepEqual(await read({ 'x-other': 'o' }), { authorization: `Bearer ${tf.token}`, xAuth: null, other: 'o' });
    assert.deepEqual(await read(['x-other', 'arr']), { authorization: `Bearer ${tf.token}`, xAuth: null, other: 'arr' });
    assert.equal((await read({ Authorization: 'Bearer mine' })).authorization, 'Bearer mine');
    const next = await rotate(3);
    assert.equal((await read()).authorization, `Bearer ${next}`);
    const viaFetch = (await (await undiciFetch(url, { dispatcher: agent })).json()) as Echo;
    assert.equal(viaFetch.authorization, `Bearer ${next}`);
  } finally {
    await agent.close();
  }
  const custom = new Agent().compose(tokenInterceptor(tf, { header: 'x-auth-token', override: true }));
  try {
    const res = await request(url, { dispatcher: custom, headers: { 'X-Auth-Token': 'old' } });
    assert.equal(((await res.body.json()) as Echo).xAuth, tf.token);
  } finally {
    await custom.close();
  }
});
