import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenRequest } from '@boundtoken/api';
import type { Logger } from '../src/logger.ts';
import { cacheKey, TokenManager, type TokenRequester } from '../src/token-manager.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const S = 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function request(podUID = 'pod-uid-1', expirationSeconds: number | undefined = 3600, audiences?: string[]): TokenRequest {
  const spec = {
    expirationSeconds,
    boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: `pod-${podUID}`, uid: podUID },
  } as TokenRequest['spec'];
  if (audiences) spec.audiences = audiences;
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec };
}

interface Harness {
  tm: TokenManager;
  clock: { t: number };
  calls: TokenRequest[];
  fail: { err: Error | undefined };
  warnings: string[];
  rand: { value: number };
}

/** A token manager on a fake clock; the fake API issues tokens valid for the requested seconds. */
function harness(options: { refreshQps?: number; respond?: (tr: TokenRequest, now: number) => TokenRequest } = {}): Harness {
  const clock = { t: T0 };
  const calls: TokenRequest[] = [];
  const fail: { err: Error | undefined } = { err: undefined };
  const warnings: string[] = [];
  const rand = { value: 0 };
  let n = 0;
  const requester: TokenRequester = async (_ns, _sa, tr) => {
    calls.push(tr);
    if (fail.err) throw fail.err;
    if (options.respond) return options.respond(tr, clock.t);
    const seconds = tr.spec.expirationSeconds ?? 3600;
    return {
      ...tr,
      spec: { ...tr.spec, expirationSeconds: seconds },
      status: { token: `tok-${++n}`, expirationTimestamp: iso(clock.t + seconds * S) },
    };
  };
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (_o, msg) => warnings.push(msg ?? ''),
    error() {},
  };
  const tm = new TokenManager({
    requester,
    clock: { now: () => clock.t },
    random: () => rand.value,
    logger,
    refreshQps: options.refreshQps ?? Infinity,
  });
  return { tm, clock, calls, fail, warnings, rand };
}

const get = (h: Harness, tr = request()) => h.tm.getServiceAccountToken('ns', 'sa', tr);

describe('TokenManager refresh timing', () => {
  const cases: { name: string; expirationSeconds: number; random: number; stillCachedAt: number; refreshedAt: number }[] = [
    // 80 %: exp − 20 % (720 s) − jitter
    { name: '3600 s, no jitter: refresh after 2880 s', expirationSeconds: 3600, random: 0, stillCachedAt: 2880 * S, refreshedAt: 2880 * S + 1 },
    { name: '3600 s, 9 s jitter', expirationSeconds: 3600, random: 0.999, stillCachedAt: 2871 * S, refreshedAt: 2871 * S + 1 },
    { name: '3600 s, jitter truncates (0.19 → 1 s)', expirationSeconds: 3600, random: 0.19, stillCachedAt: 2879 * S, refreshedAt: 2879 * S + 1 },
    // int64 arithmetic: 20 % of 3607 s is 721 s
    { name: '3607 s: 20 % is 721 s', expirationSeconds: 3607, random: 0, stillCachedAt: 2886 * S, refreshedAt: 2886 * S + 1 },
    // 24 h cap: a 48 h token refreshes after 24 h, not after 38.4 h
    { name: '48 h token: 24 h cap', expirationSeconds: 172800, random: 0, stillCachedAt: 86400 * S, refreshedAt: 86400 * S + 1 },
    { name: '48 h token, 5 s jitter', expirationSeconds: 172800, random: 0.55, stillCachedAt: 86395 * S, refreshedAt: 86395 * S + 1 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const h = harness();
      h.rand.value = c.random;
      const tr = request('u', c.expirationSeconds);
      const first = await get(h, tr);
      h.clock.t = T0 + c.stillCachedAt;
      assert.equal((await get(h, tr)).status!.token, first.status!.token);
      assert.equal(h.calls.length, 1);
      h.clock.t = T0 + c.refreshedAt;
      assert.notEqual((await get(h, tr)).status!.token, first.status!.token);
      assert.equal(h.calls.length, 2);
    });
  }

  test('jitter is a whole number of seconds from 0 to 9, drawn on every call', () => {
    const h = harness();
    const tr: TokenRequest = {
      ...request(),
      spec: { ...request().spec, expirationSeconds: 3600 },
      status: { token: 't', expirationTimestamp: iso(T0 + 3600 * S) },
    };
    for (const [random, jitter] of [
      [0, 0],
      [0.0999, 0],
      [0.1, 1],
      [0.5, 5],
      [0.95, 9],
      [0.999999, 9],
    ] as const) {
      h.rand.value = random;
      h.clock.t = T0 + (2880 - jitter) * S;
      assert.equal(h.tm.requiresRefresh(tr), false, `random ${random} at threshold`);
      h.clock.t += 1;
      assert.equal(h.tm.requiresRefresh(tr), true, `random ${random} past threshold`);
    }
  });

  test('the lifetime comes from status and spec, never from the JWT', async () => {
    // a warnafter token: the JWT says one year, the status 3607 s
    const yearJwt = `x.${Buffer.from(JSON.stringify({ exp: T0 / 1000 + 365 * 86400, iat: T0 / 1000 })).toString('base64url')}.y`;
    let n = 0;
    const h = harness({
      respond: (tr, now) => ({
        ...tr,
        spec: { ...tr.spec, expirationSeconds: 3607 },
        status: { token: `${yearJwt}${++n}`, expirationTimestamp: iso(now + 3607 * S) },
      }),
    });
    await get(h, request('u', 3607));
    h.clock.t = T0 + 2886 * S + 1;
    await get(h, request('u', 3607));
    assert.equal(h.calls.length, 2);
  });

  test('the spec the server answered wins (a capped expiration refreshes earlier)', async () => {
    const h = harness({
      respond: (tr, now) => ({
        ...tr,
        spec: { ...tr.spec, expirationSeconds: 1000 },
        status: { token: `capped-${now}`, expirationTimestamp: iso(now + 1000 * S) },
      }),
    });
    await get(h, request('u', 7200));
    h.clock.t = T0 + 800 * S + 1;
    await get(h, request('u', 7200));
    assert.equal(h.calls.length, 2);
  });

  test('a response without expirationSeconds is never refreshed', async () => {
    const h = harness({
      respond: (tr, now) => ({
        ...tr,
        spec: { ...tr.spec, expirationSeconds: undefined as unknown as number },
        status: { token: 'forever', expirationTimestamp: iso(now + 3600 * S) },
      }),
    });
    await get(h);
    h.clock.t = T0 + 3599 * S;
    await get(h);
    assert.equal(h.calls.length, 1);
    assert.ok(h.warnings.some((w) => /expiration seconds was nil/.test(w)));
  });

  test('nextRefreshAt is the 80 % point of the pod’s earliest token', async () => {
    const h = harness();
    await get(h, request('p', 3600));
    await get(h, request('p', 7200, ['vault']));
    assert.equal(h.tm.nextRefreshAt('p'), T0 + 2880 * S + 1);
    assert.equal(h.tm.nextRefreshAt('other'), undefined);
  });
});

describe('TokenManager failures', () => {
  test('no cached token: the error is returned and not cached', async () => {
    const h = harness();
    h.fail.err = Object.assign(new Error('serviceaccounts "sa" not found'), { reason: 'NotFound' });
    await assert.rejects(get(h), (err: Error & { code?: string; cause?: unknown }) => {
      assert.equal(err.code, 'ERR_TOKEN_FETCH');
      assert.equal(err.message, 'failed to fetch token: serviceaccounts "sa" not found');
      assert.equal(err.cause, h.fail.err);
      return true;
    });
    await assert.rejects(get(h), { code: 'ERR_TOKEN_FETCH' });
    assert.equal(h.calls.length, 2, 'every call asks again');
    h.fail.err = undefined;
    assert.equal((await get(h)).status!.token, 'tok-1');
  });

  test('refresh fails while the token is valid: the stale token is served, logged once per streak', async () => {
    const h = harness();
    const first = await get(h);
    h.clock.t = T0 + 3000 * S;
    h.fail.err = new Error('connection refused');
    for (let i = 0; i < 5; i++) {
      assert.equal((await get(h)).status!.token, first.status!.token);
      h.clock.t += 60 * S;
    }
    assert.equal(h.calls.length, 6, 'each call retried');
    assert.equal(h.warnings.filter((w) => /Couldn't update token/.test(w)).length, 1);
    assert.equal(h.tm.stats().staleServed, 5);
    // while failing, the pod comes back with backoff, not immediately
    const retryAt = h.tm.nextRefreshAt('pod-uid-1')!;
    assert.ok(retryAt > h.clock.t - 60 * S && retryAt <= h.clock.t - 60 * S + 64 * S);
    h.fail.err = undefined;
    assert.notEqual((await get(h)).status!.token, first.status!.token);
    // a new streak logs again
    h.clock.t += 3000 * S;
    h.fail.err = new Error('down again');
    await get(h);
    assert.equal(h.warnings.filter((w) => /Couldn't update token/.test(w)).length, 2);
  });

  test('refresh fails after the token expired: an error naming the key', async () => {
    const h = harness();
    await get(h);
    h.clock.t = T0 + 3600 * S + 1;
    h.fail.err = new Error('connection refused');
    const key = cacheKey('sa', 'ns', request());
    await assert.rejects(get(h), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_TOKEN_EXPIRED');
      assert.equal(err.message, `token ${key} expired and refresh failed: connection refused`);
      return true;
    });
  });

  test('a response without a token is an error', async () => {
    const h = harness({ respond: (tr) => ({ ...tr, status: undefined as unknown as TokenRequest['status'] }) });
    await assert.rejects(get(h), { code: 'ERR_TOKEN_FETCH' });
    assert.equal(h.tm.stats().entries, 0);
  });
});

describe('TokenManager cache', () => {
  test('keys tell apart nil and empty audiences, expirations and bound objects', () => {
    const base = request('u', 3600);
    const keys = new Set([
      cacheKey('sa', 'ns', base),
      cacheKey('sa', 'ns', request('u', 3600, [])),
      cacheKey('sa', 'ns', request('u', 3600, ['a'])),
      cacheKey('sa', 'ns', request('u', 3600, ['a', 'b'])),
      cacheKey('sa', 'ns', request('u', 3600, ['a,b'])),
      cacheKey('sa', 'ns', request('u', 7200)),
      cacheKey('sa', 'ns', { ...base, spec: { ...base.spec, expirationSeconds: undefined as unknown as number } }),
      cacheKey('sa', 'ns', request('v', 3600)),
      cacheKey('sa2', 'ns', base),
      cacheKey('sa', 'ns2', base),
      cacheKey('ns', 'sa', base),
      cacheKey('sa', 'ns', { ...base, spec: { ...base.spec, boundObjectRef: undefined } }),
    ]);
    assert.equal(keys.size, 12);
    assert.equal(cacheKey('sa', 'ns', request('u', 3600)), cacheKey('sa', 'ns', request('u', 3600)));
  });

  test('deleteServiceAccountToken drops only that pod’s tokens', async () => {
    const h = harness();
    await get(h, request('a'));
    await get(h, request('a', 3600, ['x']));
    await get(h, request('b'));
    h.tm.deleteServiceAccountToken('a');
    assert.equal(h.tm.stats().entries, 1);
    await get(h, request('b'));
    assert.equal(h.calls.length, 3);
    await get(h, request('a'));
    assert.equal(h.calls.length, 4);
  });

  test('cleanup drops expired entries', async () => {
    const h = harness();
    await get(h, request('a', 600));
    await get(h, request('b', 3600));
    h.clock.t = T0 + 601 * S;
    h.tm.cleanup();
    assert.equal(h.tm.stats().entries, 1);
  });

  test('concurrent calls for one key share one request', async () => {
    const h = harness();
    const [a, b, c] = await Promise.all([get(h), get(h), get(h)]);
    assert.equal(h.calls.length, 1);
    assert.equal(a, b);
    assert.equal(b, c);
  });

  test('caller misuse throws TypeError', () => {
    assert.throws(() => new TokenManager({} as never), TypeError);
    assert.throws(() => new TokenManager({ requester: async () => ({}) as TokenRequest, refreshQps: 0 }), TypeError);
  });
});

describe('TokenManager pacing', () => {
  test('tokens due together are refreshed at most refreshQps per second, all before 90 % of their lifetime', async () => {
    const h = harness({ refreshQps: 10 });
    const PODS = 200;
    const reqs = Array.from({ length: PODS }, (_, i) => request(`p${i}`, 3600));
    for (const r of reqs) await get(h, r);
    assert.equal(h.calls.length, PODS);
    const refreshedAt: number[] = [];
    const tokens = new Map<number, string>();
    for (const [i, r] of reqs.entries()) tokens.set(i, (await get(h, r)).status!.token);
    // step through time from the 80 % mark, every pod asking every 100 ms (the worst case)
    for (let t = T0 + 2880 * S + 1; t < T0 + 3240 * S; t += 100) {
      h.clock.t = t;
      for (const [i, r] of reqs.entries()) {
        const tok = (await get(h, r)).status!.token;
        if (tok !== tokens.get(i)) {
          tokens.set(i, tok);
          refreshedAt.push(t);
        }
      }
    }
    assert.equal(refreshedAt.length, PODS, 'every token refreshed before 90 % of its lifetime');
    const perSecond = new Map<number, number>();
    for (const t of refreshedAt) perSecond.set(Math.floor(t / S), (perSecond.get(Math.floor(t / S)) ?? 0) + 1);
    assert.ok(Math.max(...perSecond.values()) <= 10, `max ${Math.max(...perSecond.values())} per second`);
  });

  test('a waiting token says when its slot comes', async () => {
    const h = harness({ refreshQps: 1 });
    await get(h, request('a'));
    await get(h, request('b'));
    h.clock.t = T0 + 2881 * S;
    await get(h, request('a')); // takes the free slot
    await get(h, request('b')); // waits one second
    assert.equal(h.calls.length, 3);
    assert.equal(h.tm.nextRefreshAt('b'), T0 + 2882 * S);
    h.clock.t = T0 + 2882 * S;
    await get(h, request('b'));
    assert.equal(h.calls.length, 4);
  });

  test('overflow: a token with no slot before 90 % picks a random time in the rest of its window', async () => {
    const h = harness({ refreshQps: 1 / 300 });
    for (const p of ['a', 'b', 'c']) await get(h, request(p));
    h.clock.t = T0 + 2880 * S + 1;
    h.rand.value = 0.5;
    for (const p of ['a', 'b', 'c']) await get(h, request(p));
    // a: the free slot; b: the next slot, 300 s later; c: halfway between now and 3240 s
    assert.deepEqual(
      h.calls.slice(3).map((c) => c.spec.boundObjectRef!.uid),
      ['a'],
    );
    assert.equal(h.tm.nextRefreshAt('b'), T0 + 2880 * S + 1 + 300 * S);
    assert.equal(h.tm.nextRefreshAt('c'), T0 + 2880 * S + 1 + Math.floor((360 * S - 1) * 0.5));
    h.clock.t = h.tm.nextRefreshAt('c')!;
    await get(h, request('c'));
    assert.equal(h.calls.length, 5);
  });

  test('a token whose slot would come after 90 % of its lifetime is not held back', async () => {
    const h = harness({ refreshQps: 1 / 300 });
    for (const p of ['a', 'b', 'c']) await get(h, request(p));
    h.clock.t = T0 + 2881 * S;
    for (const p of ['a', 'b', 'c']) await get(h, request(p));
    // a: the free slot; b: the next slot, 300 s later (before 3240 s); c: no slot before 3240 s
    assert.deepEqual(
      h.calls.slice(3).map((c) => c.spec.boundObjectRef!.uid),
      ['a', 'c'],
    );
    assert.equal(h.tm.nextRefreshAt('b'), T0 + 3181 * S);
    h.clock.t = T0 + 3181 * S;
    await get(h, request('b'));
    assert.equal(h.calls.length, 6);
  });
});
