import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildClaims, createSigner, jwksDocument, loadSigningKey, publicKeyPem, type SigningKey } from '@boundtoken/token';
import { forgedTokenCorpus, kubernetesTestVectors } from '@boundtoken/token/testing';
import { VerificationError, createVerifier, type Verifier } from '@boundtoken/client';
import { createTestPki } from './helpers/pki.ts';
import { NODE, POD, SA, signToken, startIssuer, testKeys, type TestIssuer } from './helpers/issuer.ts';
import { startHttpsServer } from './helpers/https-server.ts';

const pki = createTestPki();
after(() => pki.cleanup());

async function rejectsCode(p: Promise<unknown>, code: string, reason?: RegExp): Promise<VerificationError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof VerificationError, `expected VerificationError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.reason);
  if (reason) assert.match(caught.reason, reason);
  return caught;
}

describe('offline verifier against a local OIDC issuer', () => {
  let iss: TestIssuer;
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const nowS = () => Math.floor(clock / 1000);
  const verifiers: Verifier[] = [];
  function verifier(extra: Partial<Parameters<typeof createVerifier>[0]> = {}): Verifier {
    const v = createVerifier({ issuer: iss.issuer, audiences: ['istio-ca'], fetch: { ca: pki.caCert }, now, ...extra } as Parameters<typeof createVerifier>[0]);
    verifiers.push(v);
    return v;
  }

  before(async () => {
    iss = await startIssuer(pki, [testKeys().rsa, testKeys().ec]);
  });
  after(async () => {
    for (const v of verifiers) v.close();
    await iss.close();
  });

  test('discovery → JWKS → a valid token gives the full identity', async () => {
    const v = verifier();
    const token = signToken(testKeys().rsa, iss.issuer, nowS(), { jti: 'jti-1', audiences: ['other', 'istio-ca'] });
    const id = await v.verify(token);
    assert.deepEqual(id, {
      subject: 'system:serviceaccount:istio-system:aspen-mesh-metrics-collector',
      namespace: SA.namespace,
      serviceAccount: { name: SA.name, uid: SA.uid },
      pod: POD,
      node: NODE,
      audiences: ['istio-ca'],
      jti: 'jti-1',
      expiresAt: new Date((nowS() + 3600) * 1000),
      issuedAt: new Date(nowS() * 1000),
      username: 'system:serviceaccount:istio-system:aspen-mesh-metrics-collector',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:istio-system', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/pod-name': [POD.name],
        'authentication.kubernetes.io/pod-uid': [POD.uid],
        'authentication.kubernetes.io/node-name': [NODE.name],
        'authentication.kubernetes.io/node-uid': [NODE.uid],
        'authentication.kubernetes.io/credential-id': ['JTI=jti-1'],
      },
      verifiedBy: 'offline',
    });
    assert.equal((await v.verify(signToken(testKeys().ec, iss.issuer, nowS()))).namespace, SA.namespace, 'EC keys too');
    assert.equal(iss.hits['/.well-known/openid-configuration'], 1);
    assert.equal(iss.hits['/openid/v1/jwks'], 1);
    // per-call audiences
    await rejectsCode(v.verify(token, { audiences: ['vault'] }), 'ERR_TOKEN_AUDIENCE_INVALID', /token audiences \["other" "istio-ca"\] is invalid for the target audiences \["vault"\]/);
    assert.deepEqual((await v.verify(token, { audiences: ['vault', 'other'] })).audiences, ['other']);
  });

  for (const keyName of ['rsa', 'ec'] as const) {
    test(`the forged token corpus is rejected with the right codes (${keyName} key)`, async () => {
      const keys = testKeys();
      const key = keys[keyName];
      const otherKey = keyName === 'rsa' ? keys.ec2 : keys.rsa2;
      const v = verifier();
      const cases = forgedTokenCorpus({ key, otherKey, issuer: iss.issuer, audience: 'istio-ca', now: nowS() });
      assert.ok(cases.length >= 30);
      for (const c of cases) await rejectsCode(v.verify(c.token), c.expectedCode);
      await rejectsCode(v.verify(undefined), 'ERR_TOKEN_MISSING');
    });
  }

  test('time rules: 60 s leeway on exp, nbf and iat', async () => {
    const v = verifier();
    const key = testKeys().ec;
    const expiredBy = (s: number) => signToken(key, iss.issuer, nowS() - 3600 - s, { expirationSeconds: 3600 });
    await v.verify(expiredBy(60));
    await rejectsCode(v.verify(expiredBy(61)), 'ERR_TOKEN_EXPIRED', /service account token has expired/);
    await v.verify(signToken(key, iss.issuer, nowS() + 60));
    await rejectsCode(v.verify(signToken(key, iss.issuer, nowS() + 61)), 'ERR_TOKEN_NOT_YET_VALID');
  });

  test('Cache-Control max-age is honoured: keys reused until then, refreshed in the background after', async () => {
    iss.cacheControl = 'public, max-age=120';
    const v = verifier();
    const token = signToken(testKeys().rsa, iss.issuer, nowS());
    const before = iss.hits['/openid/v1/jwks'] ?? 0;
    await v.verify(token);
    assert.equal(iss.hits['/openid/v1/jwks'], before + 1);
    clock += 119_000;
    await v.verify(token);
    assert.equal(iss.hits['/openid/v1/jwks'], before + 1, 'within max-age: no fetch');
    clock += 2_000;
    await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()));
    await until(() => iss.hits['/openid/v1/jwks'] === before + 2, 'background refresh');
    // no-store: refreshed again only after the cooldown
    iss.cacheControl = 'no-store';
    clock += 121_000;
    await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()));
    await until(() => iss.hits['/openid/v1/jwks'] === before + 3, 'refresh');
    clock += 5_000;
    await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(iss.hits['/openid/v1/jwks'], before + 3, 'no-store still waits for the cooldown');
    clock += 5_000;
    await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()));
    await until(() => iss.hits['/openid/v1/jwks'] === before + 4, 'refresh after cooldown');
    iss.cacheControl = 'public, max-age=3600';
  });

  test('key rotation: an unknown kid triggers exactly one refetch; more unknown kids wait for the cooldown', async () => {
    const keys = testKeys();
    iss.keys = [keys.rsa];
    const v = verifier({ refetchCooldownMs: 10_000 });
    await v.verify(signToken(keys.rsa, iss.issuer, nowS()));
    const base = iss.hits['/openid/v1/jwks']!;
    clock += 10_000;
    // The issuer starts signing with a new key and publishes it.
    iss.keys = [keys.rsa, keys.ec2];
    const rotated = signToken(keys.ec2, iss.issuer, nowS());
    const [a, b, c] = await Promise.all([v.verify(rotated), v.verify(rotated), v.verify(rotated)]);
    assert.equal(a.namespace, SA.namespace);
    assert.deepEqual([b.namespace, c.namespace], [SA.namespace, SA.namespace]);
    assert.equal(iss.hits['/openid/v1/jwks'], base + 1, 'one refetch for concurrent unknown-kid tokens');
    // A kid that is never published: rejected; within the cooldown no fetch at all.
    const stranger = signToken(keys.rsa2, iss.issuer, nowS());
    await rejectsCode(v.verify(stranger), 'ERR_TOKEN_NO_MATCHING_KEY');
    await rejectsCode(v.verify(stranger), 'ERR_TOKEN_NO_MATCHING_KEY');
    assert.equal(iss.hits['/openid/v1/jwks'], base + 1, 'rate limited');
    clock += 10_000;
    await rejectsCode(v.verify(stranger), 'ERR_TOKEN_NO_MATCHING_KEY');
    assert.equal(iss.hits['/openid/v1/jwks'], base + 2, 'one refetch after the cooldown');
    // A retired key disappears from the JWKS: its tokens fail once the set is refreshed.
    iss.keys = [keys.ec2];
    clock += 3_600_000;
    await v.verify(rotated);
    await until(() => iss.hits['/openid/v1/jwks'] === base + 3, 'refresh');
    clock += 10_000;
    await rejectsCode(v.verify(signToken(keys.rsa, iss.issuer, nowS())), 'ERR_TOKEN_NO_MATCHING_KEY');
    iss.keys = [keys.rsa, keys.ec];
  });

  test('results are cached 10 s (never past exp): a key removed from the JWKS stops working within the TTL', async () => {
    const keys = testKeys();
    iss.keys = [keys.rsa, keys.ec];
    iss.cacheControl = 'public, max-age=60';
    const v = verifier({ refetchCooldownMs: 1_000 });
    try {
      const token = signToken(keys.ec, iss.issuer, nowS());
      await v.verify(token);
      const uncached = verifier({ refetchCooldownMs: 1_000, cacheTtlMs: 0 });
      await uncached.verify(token);
      // The issuer drops the EC key; both verifiers refresh their key sets.
      iss.keys = [keys.rsa];
      clock += 61_000;
      const base = iss.hits['/openid/v1/jwks']!;
      await v.verify(signToken(keys.rsa, iss.issuer, nowS()));
      await uncached.verify(signToken(keys.rsa, iss.issuer, nowS()));
      await until(() => iss.hits['/openid/v1/jwks'] === base + 2, 'both refreshed');
      // The first verification was 61 s ago: its cached result has expired too.
      await rejectsCode(v.verify(token), 'ERR_TOKEN_NO_MATCHING_KEY');
      await rejectsCode(uncached.verify(token), 'ERR_TOKEN_NO_MATCHING_KEY');
      // Now a result cached just before the key goes away survives for at most the TTL.
      iss.keys = [keys.rsa, keys.ec];
      clock += 61_000;
      const fresh = signToken(keys.ec, iss.issuer, nowS());
      await v.verify(signToken(keys.rsa, iss.issuer, nowS())); // triggers the background refresh
      await until(() => iss.hits['/openid/v1/jwks'] === base + 3, 'refresh with the EC key back');
      await v.verify(fresh);
      iss.keys = [keys.rsa];
      clock += 61_000;
      await v.verify(signToken(keys.rsa, iss.issuer, nowS()));
      await until(() => iss.hits['/openid/v1/jwks'] === base + 4, 'refresh without it');
      clock -= 55_000; // back within 10 s of the cached verification of `fresh`
      assert.equal((await v.verify(fresh)).namespace, SA.namespace, 'served from the cache');
      clock += 55_000;
      await rejectsCode(v.verify(fresh), 'ERR_TOKEN_NO_MATCHING_KEY');
    } finally {
      iss.keys = [keys.rsa, keys.ec];
      iss.cacheControl = 'public, max-age=3600';
    }
  });

  test('fetch failures: typed errors before the first keys; the last good keys after', async () => {
    const errs: VerificationError[] = [];
    const v = verifier({ onError: (e: VerificationError) => errs.push(e) });
    const token = signToken(testKeys().rsa, iss.issuer, nowS());
    iss.fail['/.well-known/openid-configuration'] = 404;
    await rejectsCode(v.verify(token), 'ERR_DISCOVERY', /cannot fetch OIDC discovery .*404 failing on purpose/);
    iss.fail['/.well-known/openid-configuration'] = undefined;
    iss.fail['/openid/v1/jwks'] = 500;
    clock += 1_000;
    await rejectsCode(v.verify(token), 'ERR_JWKS_FETCH', /cannot fetch JWKS .*500/);
    iss.fail['/openid/v1/jwks'] = undefined;
    clock += 1_000;
    assert.equal((await v.verify(token)).namespace, SA.namespace);
    // The issuer goes down: cached keys keep working, the refresh failure is reported.
    iss.fail['/openid/v1/jwks'] = 503;
    iss.fail['/.well-known/openid-configuration'] = 503;
    clock += 4_000_000;
    assert.equal((await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()))).namespace, SA.namespace);
    await until(() => errs.length > 0, 'error report');
    assert.match(errs[0]!.code, /ERR_JWKS_FETCH|ERR_DISCOVERY/);
    iss.fail = {};
  });

  test('discovery must name the configured issuer; TLS must verify', async () => {
    const wrongIssuer = createVerifier({ issuer: 'https://kubernetes.default.svc', discoveryUrl: iss.issuer, audiences: ['istio-ca'], fetch: { ca: pki.caCert }, now });
    verifiers.push(wrongIssuer);
    await rejectsCode(wrongIssuer.ready(), 'ERR_DISCOVERY', /is for issuer ".*", not "https:\/\/kubernetes\.default\.svc"/);
    const wrongCa = createVerifier({ issuer: iss.issuer, audiences: ['istio-ca'], fetch: { ca: pki.otherCaCert }, now });
    verifiers.push(wrongCa);
    await rejectsCode(wrongCa.ready(), 'ERR_DISCOVERY', /cannot reach/);
  });

  test('a JWKS URL given directly skips discovery; the bearer token goes to the issuer origin only', async () => {
    const jwksHost = await startIssuer(pki, [testKeys().rsa]);
    try {
      iss.requireToken = 'reader-token';
      // discovery on the issuer (needs the token) pointing to another host's JWKS
      const v = createVerifier({
        issuer: iss.issuer,
        jwksUri: `${jwksHost.srv.url}/openid/v1/jwks`,
        audiences: ['istio-ca'],
        fetch: { ca: pki.caCert, token: () => 'reader-token' },
        now,
      });
      verifiers.push(v);
      await v.verify(signToken(testKeys().rsa, iss.issuer, nowS()));
      assert.equal(jwksHost.hits['/.well-known/openid-configuration'], undefined);
      assert.equal(jwksHost.srv.requests.at(-1)!.headers.authorization, undefined, 'no token to a foreign JWKS host');
      const d = createVerifier({ issuer: iss.issuer, audiences: ['istio-ca'], fetch: { ca: pki.caCert, token: 'reader-token' }, now });
      verifiers.push(d);
      await d.verify(signToken(testKeys().ec, iss.issuer, nowS()));
      assert.equal(iss.srv.requests.at(-1)!.headers.authorization, 'Bearer reader-token');
    } finally {
      iss.requireToken = undefined;
      await jwksHost.close();
    }
  });
});

/** Waits for `cond` (a server-side count), then lets the client finish reading the answer. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 50));
}

describe('keys given directly', () => {
  const nowS = 1_800_000_000;
  const now = () => nowS * 1000;

  test('the Kubernetes test-vector keys: a token in the exact Kubernetes format verifies given that JWKS', async () => {
    const tv = kubernetesTestVectors;
    for (const [pem, kid, alg] of [
      [tv.rsaPrivateKeyPem, tv.rsaKeyId, 'RS256'],
      [tv.ecdsaPrivateKeyPem, tv.ecdsaKeyId, 'ES256'],
    ] as const) {
      const key: SigningKey = loadSigningKey(pem);
      assert.equal(key.kid, kid);
      const claims = buildClaims(
        {
          issuer: tv.discovery.issuer,
          audiences: ['istio-ca'],
          serviceAccount: { namespace: tv.claims.namespace, ...tv.claims.serviceAccount },
          pod: tv.claims.pod,
          node: tv.claims.node,
          expirationSeconds: 3600,
          jti: tv.claims.jti,
        },
        nowS,
      );
      const token = createSigner(key).sign(claims);
      const [h, p] = token.split('.') as [string, string];
      assert.equal(Buffer.from(h, 'base64url').toString(), `{"alg":"${alg}","kid":"${kid}"}`);
      assert.equal(
        Buffer.from(p, 'base64url').toString(),
        `{"aud":["istio-ca"],"exp":${nowS + 3600},"iat":${nowS},"iss":"https://issuer.example.com","jti":"fixed","kubernetes.io":{"namespace":"myns","node":{"name":"mynode","uid":"mynode-uid"},"pod":{"name":"mypod","uid":"mypod-uid"},"serviceaccount":{"name":"mysvcacct","uid":"mysvcacct-uid"}},"nbf":${nowS},"sub":"system:serviceaccount:myns:mysvcacct"}`,
      );
      for (const keys of [tv.discovery.jwks, JSON.parse(tv.discovery.jwks) as { keys: unknown[] }]) {
        const v = createVerifier({ issuer: tv.discovery.issuer, audiences: ['istio-ca'], keys, now });
        const id = await v.verify(token);
        assert.equal(id.subject, 'system:serviceaccount:myns:mysvcacct');
        assert.deepEqual([id.pod, id.node, id.jti], [tv.claims.pod, tv.claims.node, 'fixed']);
      }
      // the `--service-account-key-file` way: PEM public keys
      const pemVerifier = createVerifier({ issuer: tv.discovery.issuer, audiences: ['istio-ca'], keys: tv.rsaPublicKeyPem + tv.ecdsaPublicKeyPem, now });
      await pemVerifier.verify(token);
      // a key that is not the signer's
      const other = createVerifier({ issuer: tv.discovery.issuer, audiences: ['istio-ca'], keys: tv.otherPublicKeyPem, now });
      await rejectsCode(other.verify(token), 'ERR_TOKEN_NO_MATCHING_KEY');
    }
  });

  test('the test-vector discovery documents served over HTTPS (jwks_uri overridden to the local server)', async () => {
    const tv = kubernetesTestVectors;
    const srv = await startHttpsServer(pki);
    try {
      srv.handle((req, res) => {
        res.writeHead(200, { 'Content-Type': req.url === '/openid/v1/jwks' ? 'application/jwk-set+json' : 'application/json', 'Cache-Control': 'public, max-age=3600' });
        res.end(req.url === '/openid/v1/jwks' ? tv.discovery.jwks : tv.discovery.config);
      });
      const key = loadSigningKey(tv.rsaPrivateKeyPem);
      const token = signToken(key, tv.discovery.issuer, nowS);
      const v = createVerifier({ issuer: tv.discovery.issuer, discoveryUrl: srv.url, jwksUri: `${srv.url}/openid/v1/jwks`, audiences: ['istio-ca'], fetch: { ca: pki.caCert }, now });
      assert.equal((await v.verify(token)).serviceAccount.uid, SA.uid);
      v.close();
    } finally {
      await srv.close();
    }
  });

  test('PublicKey[] and misuse', async () => {
    const key = testKeys().ec;
    const v = createVerifier({ issuer: 'https://i', audiences: ['a'], keys: [key], now });
    await v.verify(signToken(key, 'https://i', nowS, { audiences: ['a'] }));
    assert.throws(() => createVerifier({ issuer: 'https://i', audiences: [], keys: [key] }), TypeError);
    assert.throws(() => createVerifier({ issuer: [], audiences: ['a'], keys: [key] }), TypeError);
    assert.throws(() => createVerifier({ mode: 'sideways' } as never), TypeError);
    await assert.rejects(v.verify('x', { audiences: [] }), TypeError);
    assert.equal(publicKeyPem(key).includes('PUBLIC KEY'), true);
    assert.ok(jwksDocument([key]).includes(key.kid));
  });
});
