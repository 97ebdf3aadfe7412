import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenError, buildClaims, createSigner, createVerifier, generateSigningKey, loadSigningKey, type SigningKey } from '@boundtoken/token';
import { forgedTokenCorpus, kubernetesTestVectors as v } from '@boundtoken/token/testing';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'https://vault.example.com';
const NOW = 1735689600;

const rsa = loadSigningKey(v.rsaPrivateKeyPem);
const ec = loadSigningKey(v.ecdsaPrivateKeyPem);
const p521 = generateSigningKey({ type: 'ec', curve: 'P-521' });
const rsa2 = generateSigningKey({ type: 'rsa' });

const pairs: Array<[string, SigningKey, SigningKey]> = [
  ['RS256 key, other key EC', rsa, ec],
  ['RS256 key, other key RSA', rsa, rsa2],
  ['ES256 key, other key RSA', ec, rsa],
  ['ES512 key, other key ES256', p521, ec],
];

for (const [name, key, otherKey] of pairs) {
  describe(`forged token corpus — ${name}`, () => {
    const corpus = forgedTokenCorpus({ key, otherKey, issuer: ISSUER, audience: AUDIENCE, now: NOW });
    const verifier = createVerifier({ keys: [key], issuers: [ISSUER], now: () => NOW });

    test('has at least 30 distinct cases', () => {
      assert.ok(corpus.length >= 30, `only ${corpus.length} cases`);
      assert.equal(new Set(corpus.map((c) => c.name)).size, corpus.length);
      assert.equal(new Set(corpus.map((c) => c.token)).size, corpus.length);
    });

    test('the same verifier accepts a genuine token (control), also verifying off the event loop', async () => {
      const claims = buildClaims(
        {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          serviceAccount: { namespace: 'default', name: 'default', uid: 'sa-uid' },
          expirationSeconds: 3600,
        },
        NOW,
      );
      const token = createSigner(key).sign(claims);
      assert.deepEqual(verifier.verify(token, [AUDIENCE]).audiences, [AUDIENCE]);
      assert.deepEqual(await verifier.verifyAsync(token, [AUDIENCE]), verifier.verify(token, [AUDIENCE]));
    });

    for (const c of corpus) {
      test(`rejects: ${c.name} → ${c.expectedCode}`, async () => {
        let message = '';
        assert.throws(
          () => verifier.verify(c.token, [AUDIENCE]),
          (err: unknown) => {
            assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
            assert.equal(err.code, c.expectedCode, err.message);
            message = err.message;
            return true;
          },
        );
        // verifyAsync (the signature checked on the thread pool) rejects with the same error
        await assert.rejects(verifier.verifyAsync(c.token, [AUDIENCE]), (err: unknown) => {
          assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
          assert.equal(err.code, c.expectedCode);
          assert.equal(err.message, message);
          return true;
        });
      });
    }
  });
}

test('the corpus honours a custom leeway', () => {
  const corpus = forgedTokenCorpus({ key: ec, otherKey: rsa, issuer: ISSUER, audience: AUDIENCE, now: NOW, leewaySeconds: 5 });
  const verifier = createVerifier({ keys: [ec], issuers: [ISSUER], now: () => NOW, leewaySeconds: 5 });
  const expired = corpus.find((c) => c.expectedCode === 'ERR_TOKEN_EXPIRED')!;
  assert.match(expired.name, /^expired 6 s ago/);
  assert.throws(() => verifier.verify(expired.token, [AUDIENCE]), { code: 'ERR_TOKEN_EXPIRED' });
});

test('the corpus refuses the same key twice', () => {
  assert.throws(() => forgedTokenCorpus({ key: ec, otherKey: ec, issuer: ISSUER, audience: AUDIENCE, now: NOW }), TypeError);
});
