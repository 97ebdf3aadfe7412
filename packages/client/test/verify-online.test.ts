import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { forgedTokenCorpus } from '@boundtoken/token/testing';
import { VerificationError, createKubeClient, createVerifier, type Verifier } from '@boundtoken/client';
import { createTestPki } from './helpers/pki.ts';
import { POD, SA, signToken, testKeys } from './helpers/issuer.ts';
import { startReviewServer, type ReviewServer } from './helpers/token-review-server.ts';

const pki = createTestPki();
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
let clock = 1_800_000_000_000;
const now = () => clock;
const nowS = () => Math.floor(clock / 1000);
let api: ReviewServer;
const verifiers: Verifier[] = [];

before(async () => {
  api = await startReviewServer(pki, [testKeys().rsa, testKeys().ec], ISSUER, now);
});
after(async () => {
  for (const v of verifiers) v.close();
  await api.close();
  pki.cleanup();
});

function online(extra: Record<string, unknown> = {}): Verifier {
  const v = createVerifier({
    mode: 'online',
    audiences: ['istio-ca'],
    cluster: { server: api.srv.url, ca: pki.caCert, token: 'reviewer-token' },
    now,
    ...extra,
  });
  verifiers.push(v);
  return v;
}

async function rejectsCode(p: Promise<unknown>, code: string, reason?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.reason);
    if (reason) assert.match(err.reason, reason);
    return true;
  });
}

describe('online verifier (TokenReview)', () => {
  test('a valid token: the same identity as offline verification gives', async () => {
    const v = online();
    const token = signToken(testKeys().rsa, ISSUER, nowS(), { jti: 'j-1' });
    const id = await v.verify(token);
    const offline = await createVerifier({ issuer: ISSUER, audiences: ['istio-ca'], keys: [testKeys().rsa], now }).verify(token);
    assert.deepEqual({ ...id, verifiedBy: 'x' }, { ...offline, verifiedBy: 'x' });
    assert.equal(id.verifiedBy, 'online');
    const sent = JSON.parse(api.srv.requests.at(-1)!.body.toString()) as unknown;
    assert.deepEqual(sent, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['istio-ca'] } });
  });

  test('successes are cached 10 s, never past exp; failures are not cached', async () => {
    const v = online();
    const token = signToken(testKeys().ec, ISSUER, nowS());
    const start = api.reviews;
    await v.verify(token);
    await v.verify(token);
    assert.equal(api.reviews, start + 1);
    clock += 9_999;
    await v.verify(token);
    assert.equal(api.reviews, start + 1);
    clock += 1;
    await v.verify(token);
    assert.equal(api.reviews, start + 2, 'refetched after the TTL');
    // per-audience entries
    await v.verify(token, { audiences: ['istio-ca', 'vault'] });
    assert.equal(api.reviews, start + 3);

    // A token 3 s from expiry is cached 3 s, not 10 s.
    const short = signToken(testKeys().ec, ISSUER, nowS() - 597, { expirationSeconds: 600 });
    await v.verify(short);
    clock += 2_000;
    await v.verify(short);
    assert.equal(api.reviews, start + 4);
    clock += 1_500;
    await v.verify(short); // past exp (within the 60 s leeway): reviewed again
    assert.equal(api.reviews, start + 5);

    // A deleted pod's token is refused at once: failures are never cached.
    const bound = signToken(testKeys().ec, ISSUER, nowS(), { pod: { name: 'doomed', uid: 'doomed-uid' } });
    await v.verify(bound);
    api.deletedPods.add('doomed-uid');
    clock += 10_000;
    await rejectsCode(v.verify(bound), 'ERR_TOKEN_NOT_AUTHENTICATED', /^service account token has been invalidated$/);
    await rejectsCode(v.verify(bound), 'ERR_TOKEN_NOT_AUTHENTICATED');
    assert.equal(api.reviews, start + 8);
  });

  test('the cache is bounded and concurrent reviews of one token are shared', async () => {
    const v = online({ cacheSize: 2 });
    const tokens = [1, 2, 3].map((i) => signToken(testKeys().ec, ISSUER, nowS(), { jti: `bounded-${i}` }));
    const start = api.reviews;
    await Promise.all([v.verify(tokens[0]!), v.verify(tokens[0]!), v.verify(tokens[0]!)]);
    assert.equal(api.reviews, start + 1, 'one review for three concurrent calls');
    await v.verify(tokens[1]!);
    await v.verify(tokens[2]!); // evicts tokens[0]
    await v.verify(tokens[2]!);
    await v.verify(tokens[0]!);
    assert.equal(api.reviews, start + 4);
  });

  test('refusals: wrong audience, expired, deleted pod, malformed — with the right codes, locally when possible', async () => {
    const v = online();
    const start = api.reviews;
    await rejectsCode(v.verify(signToken(testKeys().ec, ISSUER, nowS(), { audiences: ['vault'] })), 'ERR_TOKEN_AUDIENCE_INVALID', /token audiences \["vault"\] is invalid for the target audiences \["istio-ca"\]/);
    await rejectsCode(v.verify(signToken(testKeys().ec, ISSUER, nowS() - 7200)), 'ERR_TOKEN_EXPIRED');
    await rejectsCode(v.verify('not-a-token'), 'ERR_TOKEN_MALFORMED');
    await rejectsCode(v.verify(''), 'ERR_TOKEN_MALFORMED');
    await rejectsCode(v.verify('a'.repeat(70_000)), 'ERR_TOKEN_TOO_LARGE');
    await rejectsCode(v.verify(null), 'ERR_TOKEN_MISSING');
    assert.equal(api.reviews, start, 'none of these needed the API server');
    // the server's audience check (a token without aud is checked against the API audiences)
    await rejectsCode(v.verify(signToken(testKeys().ec, ISSUER, nowS(), { audiences: [] })), 'ERR_TOKEN_NOT_AUTHENTICATED', /token audiences/);
    api.deletedPods.add(POD.uid);
    await rejectsCode(v.verify(signToken(testKeys().ec, ISSUER, nowS())), 'ERR_TOKEN_NOT_AUTHENTICATED', /invalidated/);
    api.deletedPods.delete(POD.uid);
  });

  test('the forged corpus is refused (locally or by the API server), and never authenticated', async () => {
    const v = online();
    const cases = forgedTokenCorpus({ key: testKeys().rsa, otherKey: testKeys().ec2, issuer: ISSUER, audience: 'istio-ca', now: nowS() });
    for (const c of cases) {
      await assert.rejects(v.verify(c.token), (err: unknown) => {
        assert.ok(err instanceof VerificationError, c.name);
        // Structural and time/audience failures are caught locally with the token library's code;
        // everything else is the API server's refusal.
        const local = ['ERR_TOKEN_MALFORMED', 'ERR_TOKEN_TOO_LARGE'].includes(c.expectedCode);
        if (local) assert.equal(err.code, c.expectedCode, c.name);
        else assert.ok(['ERR_TOKEN_NOT_AUTHENTICATED', c.expectedCode].includes(err.code), `${c.name}: ${err.code} ${err.reason}`);
        return true;
      });
    }
  });

  test('API failures are ERR_REVIEW_FAILED with a clear reason', async () => {
    const token = signToken(testKeys().ec, ISSUER, nowS(), { jti: 'api-failures' });
    const forbidden = online({ cluster: { server: api.srv.url, ca: pki.caCert, token: 'unprivileged' } });
    await rejectsCode(forbidden.verify(token), 'ERR_REVIEW_FAILED', /403 .*cannot create resource "tokenreviews".*system:auth-delegator/);
    const anonymous = online({ cluster: { server: api.srv.url, ca: pki.caCert } });
    await rejectsCode(anonymous.verify(token), 'ERR_REVIEW_FAILED', /401 Unauthorized/);
    const wrongCa = online({ cluster: { server: api.srv.url, ca: pki.otherCaCert, token: 'reviewer-token' } });
    await rejectsCode(wrongCa.verify(token), 'ERR_REVIEW_FAILED', /cannot reach/);
    const v = online({ timeoutMs: 100 });
    api.mode = 'hang';
    await rejectsCode(v.verify(token), 'ERR_REVIEW_FAILED', /within 100 ms/);
    api.mode = 'no-status';
    await rejectsCode(v.verify(token), 'ERR_REVIEW_FAILED', /no status/);
    api.mode = 'non-sa';
    await rejectsCode(v.verify(token), 'ERR_TOKEN_NOT_AUTHENTICATED', /"alice", which is not a service account/);
    api.mode = 'no-audiences';
    await rejectsCode(v.verify(token), 'ERR_TOKEN_AUDIENCE_INVALID', /confirmed audiences \[\]/);
    api.mode = 'normal';
    assert.equal((await v.verify(token)).namespace, SA.namespace);
  });

  test('cluster from a kubeconfig, or an API client to share', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bt-online-'));
    try {
      const path = join(dir, 'config');
      writeFileSync(
        path,
        stringify({
          'current-context': 'c',
          clusters: [{ name: 'c', cluster: { server: api.srv.url, 'certificate-authority-data': Buffer.from(pki.caCert).toString('base64') } }],
          users: [{ name: 'u', user: { token: 'reviewer-token' } }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        }),
      );
      const token = signToken(testKeys().ec, ISSUER, nowS(), { jti: 'kubeconfig' });
      const v = online({ cluster: { kubeconfig: path } });
      assert.equal((await v.verify(token)).jti, 'kubeconfig');
      const client = createKubeClient({ server: api.srv.url, ca: pki.caCert, token: 'reviewer-token' });
      const shared = online({ cluster: client });
      assert.equal((await shared.verify(token)).jti, 'kubeconfig');
      shared.close();
      assert.ok(await client.create('/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token, audiences: ['istio-ca'] } }), 'a shared client is not closed by the verifier');
      client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
