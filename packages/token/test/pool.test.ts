import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  buildClaims,
  createSigner,
  createSigningPool,
  createVerifier,
  generateSigningKey,
  loadSigningKey,
  type SigningKey,
} from '@boundtoken/token';
import type * as Token from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const ISSUER = 'https://kubernetes.default.svc';
const NOW = 1735689600;
const claims = (i: number) =>
  buildClaims(
    {
      issuer: ISSUER,
      audiences: [ISSUER],
      serviceAccount: { namespace: 'ns', name: `sa-${i}`, uid: `uid-${i}` },
      pod: { name: `pod-${i}`, uid: `pod-uid-${i}` },
      expirationSeconds: 3607,
      jti: `jti-${i}`,
    },
    NOW,
  );
const verifierFor = (key: SigningKey) => createVerifier({ keys: [key], issuers: [ISSUER], defaultAudiences: [ISSUER], now: () => NOW });

describe('signing pool (worker_threads)', () => {
  const rsa = loadSigningKey(v.rsaPrivateKeyPem);
  const ec = loadSigningKey(v.ecdsaPrivateKeyPem);

  test('one worker per core by default', async () => {
    const pool = createSigningPool(ec);
    try {
      assert.equal(pool.size, availableParallelism());
    } finally {
      await pool.close();
    }
  });

  for (const [name, key] of [
    ['RS256', rsa],
    ['ES256', ec],
    ['ES512', generateSigningKey({ type: 'ec', curve: 'P-521' })],
  ] as const) {
    test(`${name}: many concurrent requests, each token verifies with its own claims`, async () => {
      const pool = createSigningPool(key, { size: 2 });
      try {
        const n = name === 'ES256' ? 300 : 40;
        const tokens = await Promise.all(Array.from({ length: n }, (_, i) => pool.sign(claims(i))));
        const verifier = verifierFor(key);
        tokens.forEach((t, i) => assert.equal(verifier.verify(t).claims.sub, `system:serviceaccount:ns:sa-${i}`));
        if (key.alg === 'RS256') assert.equal(tokens[7], createSigner(key).sign(claims(7))); // deterministic: byte-identical
      } finally {
        await pool.close();
      }
    });
  }

  test('close() finishes the requests already made, then refuses new ones', async () => {
    const pool = createSigningPool(rsa, { size: 1 });
    const pending = Array.from({ length: 10 }, (_, i) => pool.sign(claims(i)));
    const closed = pool.close();
    await assert.rejects(pool.sign(claims(0)), /signing pool is closed/);
    const tokens = await Promise.all(pending);
    assert.equal(tokens.length, 10);
    await closed;
    assert.equal(pool.close(), closed);
  });

  test('bad claims reject that request only', async () => {
    const pool = createSigningPool(ec, { size: 1 });
    try {
      await assert.rejects(pool.sign(null as unknown as object), TypeError);
      assert.ok(verifierFor(ec).verify(await pool.sign(claims(1))));
    } finally {
      await pool.close();
    }
  });

  test('caller misuse is a TypeError', () => {
    assert.throws(() => createSigningPool(ec, { size: 0 }), TypeError);
    assert.throws(() => createSigningPool({} as SigningKey), TypeError);
  });
});

// The CLI loads the package from compiled dist/: the pool must work there too (workers are
// inline scripts, so there is no worker file to resolve). `npm test` builds first.
const dist = new URL('../dist/index.js', import.meta.url);
test('signing pool from compiled dist/', { skip: existsSync(dist) ? false : 'packages/token/dist not built (run npx tsc -b packages/token)' }, async () => {
  const lib = (await import(pathToFileURL(dist.pathname).href)) as typeof Token;
  const key = lib.loadSigningKey(v.ecdsaPrivateKeyPem);
  const pool = lib.createSigningPool(key, { size: 2 });
  try {
    const tokens = await Promise.all([1, 2, 3].map((i) => pool.sign(claims(i))));
    for (const t of tokens) assert.ok(verifierFor(loadSigningKey(v.ecdsaPrivateKeyPem)).verify(t));
  } finally {
    await pool.close();
  }
});
