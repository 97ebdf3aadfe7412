import { constants, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import {
  TokenError,
  buildClaims,
  createSigner,
  createVerifier,
  decodeToken,
  generateSigningKey,
  loadPublicKeys,
  loadSigningKey,
  type KeyResolver,
  type PublicKey,
  type SigningKey,
  type TokenErrorCode,
} from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const API = 'https://kubernetes.default.svc.cluster.local';
const NOW = 1735689600;

const rsa = loadSigningKey(v.rsaPrivateKeyPem);
const es256 = loadSigningKey(v.ecdsaPrivateKeyPem);
const es384 = generateSigningKey({ type: 'ec', curve: 'P-384' });
const es512 = generateSigningKey({ type: 'ec', curve: 'P-521' });
const other = loadPublicKeys(v.otherPublicKeyPem)[0]!;

const claimsAt = (now: number, over: Partial<Parameters<typeof buildClaims>[0]> = {}) =>
  buildClaims(
    {
      issuer: ISSUER,
      audiences: [API, 'vault'],
      serviceAccount: { namespace: 'default', name: 'builder', uid: 'sa-uid' },
      pod: { name: 'web-0', uid: 'pod-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
      expirationSeconds: 3607,
      warnAfterSeconds: 3607,
      ...over,
    },
    now,
  );

function verifierFor(keys: PublicKey[] | KeyResolver, now = NOW, extra: object = {}) {
  return createVerifier({ keys, issuers: ['https://other-issuer', ISSUER], defaultAudiences: [API], now: () => now, ...extra });
}

function assertCode(fn: () => unknown, code: TokenErrorCode, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

/** A JWS over `claims` with any algorithm the RSA test key can produce. */
function rsaToken(alg: string, claims: object, key: SigningKey = rsa): string {
  const input = `${Buffer.from(JSON.stringify({ alg, kid: key.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const hash = `sha${alg.slice(2)}`;
  const pss = alg.startsWith('PS');
  const sig = cryptoSign(hash, Buffer.from(input), pss ? { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 } : key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

describe('sign → verify round trips', () => {
  const keys: Array<[string, SigningKey, number]> = [
    ['RS256 (Kubernetes RSA test key)', rsa, 256],
    ['ES256 (Kubernetes EC test key)', es256, 64],
    ['ES384', es384, 96],
    ['ES512', es512, 132],
  ];
  for (const [name, key, sigLength] of keys) {
    test(name, () => {
      const claims = claimsAt(NOW);
      const token = createSigner(key).sign(claims);
      const [h] = token.split('.');
      assert.equal(Buffer.from(h!, 'base64url').toString(), `{"alg":"${key.alg}","kid":"${key.kid}"}`);
      const decoded = decodeToken(token);
      assert.equal(decoded.signature.length, sigLength);
      assert.deepEqual(decoded.payload, claims);
      const verified = verifierFor([other, rsa, es256, es384, es512]).verify(token, ['vault', API]);
      assert.deepEqual(verified.claims, claims);
      assert.deepEqual(verified.header, { alg: key.alg, kid: key.kid });
      assert.deepEqual(verified.audiences, ['vault', API]);
    });
  }

  test('jose and jsonwebtoken accept our tokens', async () => {
    for (const key of [rsa, es256, es384, es512]) {
      const token = createSigner(key).sign(claimsAt(NOW));
      const { payload } = await jose.jwtVerify(token, key.key, { issuer: ISSUER, audience: API, currentDate: new Date(NOW * 1000) });
      assert.equal(payload.sub, 'system:serviceaccount:default:builder');
      const pem = key.key.export({ type: 'spki', format: 'pem' }) as string;
      const decoded = jsonwebtoken.verify(token, pem, { algorithms: [key.alg], issuer: ISSUER, audience: API, clockTimestamp: NOW });
      assert.equal((decoded as jsonwebtoken.JwtPayload).sub, 'system:serviceaccount:default:builder');
    }
  });

  test('we accept tokens jose signs', async () => {
    for (const key of [rsa, es256, es384, es512]) {
      const token = await new jose.SignJWT(claimsAt(NOW) as unknown as jose.JWTPayload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .sign(key.privateKey);
      assert.equal(verifierFor([key]).verify(token).claims.iss, ISSUER);
    }
  });

  test('the signed payload is exactly serializeClaims of the claims', () => {
    const claims = { sub: 'x', aud: ['a&b'], iss: ISSUER, exp: NOW + 60, iat: NOW, nbf: NOW };
    const token = createSigner(rsa).sign(claims);
    assert.equal(
      Buffer.from(token.split('.')[1]!, 'base64url').toString(),
      `{"aud":["a\\u0026b"],"exp":${NOW + 60},"iat":${NOW},"iss":"${ISSUER}","nbf":${NOW},"sub":"x"}`,
    );
  });

  test('RSA signatures are deterministic and match a raw crypto.sign', () => {
    const claims = claimsAt(NOW);
    const a = createSigner(rsa).sign(claims);
    assert.equal(a, createSigner(rsa).sign(claims));
    const dot = a.lastIndexOf('.');
    assert.equal(cryptoSign('sha256', Buffer.from(a.slice(0, dot)), rsa.privateKey).toString('base64url'), a.slice(dot + 1));
  });
});

describe('algorithms an RSA key verifies (go-jose rsaEncrypterVerifier)', () => {
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']) {
    test(`${alg} is accepted`, () => {
      const token = rsaToken(alg, claimsAt(NOW));
      assert.equal(verifierFor([rsa]).verify(token).header.alg, alg);
    });
  }
  test('an EC key accepts only the ES algorithm of its curve', () => {
    const token = rsaToken('RS256', claimsAt(NOW));
    const forged = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: es256.kid })).toString('base64url')}.${token.split('.').slice(1).join('.')}`;
    assertCode(() => verifierFor([es256]).verify(forged), 'ERR_TOKEN_ALG_NOT_ALLOWED', 'square/go-jose: unknown/unsupported algorithm');
  });
});

describe('key selection', () => {
  const token = createSigner(rsa).sign(claimsAt(NOW));
  /** The same payload under another header, signed by the RSA test key. */
  const withHeader = (headerJson: string): string => {
    const input = `${Buffer.from(headerJson).toString('base64url')}.${token.split('.')[1]}`;
    return `${input}.${cryptoSign('sha256', Buffer.from(input), rsa.privateKey).toString('base64url')}`;
  };
  const noKidToken = withHeader('{"alg":"RS256"}');

  test('a kid selects its key among several (rotation)', () => {
    assert.ok(verifierFor([other, es256, rsa]).verify(token));
  });
  test('without a kid every key is tried', () => {
    assert.ok(verifierFor([other, es256, rsa]).verify(noKidToken));
  });
  test('an empty kid counts as none', () => {
    assert.ok(verifierFor([other, rsa]).verify(withHeader('{"alg":"RS256","kid":""}')));
  });
  test('an unknown kid: "invalid signature, no keys found"', () => {
    assertCode(() => verifierFor([other, es256]).verify(token), 'ERR_TOKEN_NO_MATCHING_KEY', 'invalid signature, no keys found');
  });
  test('failures over several keys are aggregated as Kubernetes prints them', () => {
    assertCode(
      () => verifierFor([other, es256]).verify(noKidToken),
      'ERR_TOKEN_SIGNATURE_INVALID',
      '[square/go-jose: error in cryptographic primitive, square/go-jose: unknown/unsupported algorithm]',
    );
  });
  test('identical failures are reported once', () => {
    assertCode(
      () => verifierFor([other, { ...other }]).verify(noKidToken),
      'ERR_TOKEN_SIGNATURE_INVALID',
      'square/go-jose: error in cryptographic primitive',
    );
  });
  test('a wrong-size ES signature gets go-jose\'s message', () => {
    const t = createSigner(es256).sign(claimsAt(NOW));
    const cut = `${t.slice(0, t.lastIndexOf('.'))}.${Buffer.alloc(63, 1).toString('base64url')}`;
    assertCode(() => verifierFor([es256]).verify(cut), 'ERR_TOKEN_SIGNATURE_INVALID', 'square/go-jose: invalid signature size, have 63 bytes, wanted 64');
  });
  test('verifyAsync tries the keys in the same order and fails with the same aggregate', async () => {
    const cut = (() => {
      const t = createSigner(es256).sign(claimsAt(NOW));
      return `${t.slice(0, t.lastIndexOf('.'))}.${Buffer.alloc(63, 1).toString('base64url')}`;
    })();
    const cases: Array<[string, PublicKey[], string]> = [
      ['kid among several', [other, es256, rsa], token],
      ['no kid, the right key last', [other, es256, rsa], noKidToken],
      ['no kid, no key verifies', [other, es256], noKidToken],
      ['identical failures', [other, { ...other }], noKidToken],
      ['unknown kid', [other, es256], token],
      ['wrong-size ES signature', [es256], cut],
    ];
    for (const [name, keys, t] of cases) {
      const verifier = verifierFor(keys);
      let sync: unknown;
      try {
        sync = verifier.verify(t);
      } catch (err) {
        sync = err;
      }
      const async_ = await verifier.verifyAsync(t).catch((err: unknown) => err);
      if (sync instanceof TokenError) {
        assert.ok(async_ instanceof TokenError, name);
        assert.deepEqual([async_.code, async_.message], [sync.code, sync.message], name);
      } else {
        assert.deepEqual(async_, sync, name);
      }
    }
  });
  test('a KeyResolver is asked with the kid, or undefined without one', () => {
    const asked: Array<string | undefined> = [];
    const resolver: KeyResolver = {
      keysFor(kid) {
        asked.push(kid);
        return kid === undefined || kid === rsa.kid ? [rsa] : [];
      },
    };
    const verifier = verifierFor(resolver);
    verifier.verify(token);
    verifier.verify(noKidToken);
    assert.deepEqual(asked, [rsa.kid, undefined]);
  });
  test('verifies with keys loaded from a public PEM', () => {
    const keys = loadPublicKeys(v.rsaPublicKeyPem + v.ecdsaPublicKeyPem);
    assert.ok(verifierFor(keys).verify(token));
    assert.ok(verifierFor(keys).verify(createSigner(es256).sign(claimsAt(NOW))));
  });
});

describe('issuer and audiences', () => {
  const sign = (over: object) => createSigner(rsa).sign({ ...claimsAt(NOW), ...over });
  test('any accepted issuer passes', () => {
    assert.equal(verifierFor([rsa]).verify(sign({ iss: 'https://other-issuer' })).claims.iss, 'https://other-issuer');
  });
  test('an unaccepted issuer: `token issuer "…" is invalid`', () => {
    assertCode(() => verifierFor([rsa]).verify(sign({ iss: 'https://evil' })), 'ERR_TOKEN_ISSUER_INVALID', 'token issuer "https://evil" is invalid');
  });
  test('audiences: requested ∩ token, in requested order', () => {
    const token = sign({ aud: ['a', 'b', 'c'] });
    assert.deepEqual(verifierFor([rsa]).verify(token, ['c', 'x', 'a']).audiences, ['c', 'a']);
  });
  test('the default audiences are used when none are requested', () => {
    assert.deepEqual(verifierFor([rsa]).verify(sign({})).audiences, [API]);
  });
  test('a token without aud gets the default (API) audiences, as legacy tokens do', () => {
    const token = sign({ aud: undefined });
    assert.deepEqual(verifierFor([rsa]).verify(token).audiences, [API]);
    assertCode(() => verifierFor([rsa]).verify(token, ['vault']), 'ERR_TOKEN_AUDIENCE_INVALID', `token audiences ["${API}"] is invalid for the target audiences ["vault"]`);
  });
  test("no intersection: Kubernetes' message with Go's %q lists", () => {
    assertCode(
      () => verifierFor([rsa]).verify(sign({ aud: ['a', 'b"c'] }), ['x', 'y']),
      'ERR_TOKEN_AUDIENCE_INVALID',
      'token audiences ["a" "b\\"c"] is invalid for the target audiences ["x" "y"]',
    );
  });
  test('no audiences to check against is caller misuse', () => {
    const verifier = createVerifier({ keys: [rsa], issuers: [ISSUER], now: () => NOW });
    assert.throws(() => verifier.verify(sign({})), TypeError);
    assert.throws(() => verifier.verify(sign({}), []), TypeError);
  });
});

describe('time claims, 60 s leeway (go-jose DefaultLeeway)', () => {
  const sign = (over: object) => createSigner(es256).sign({ ...claimsAt(NOW), ...over });
  const verify = (token: string, extra: object = {}) => verifierFor([es256], NOW, extra).verify(token);
  const cases: Array<[string, object, TokenErrorCode | null, string?]> = [
    ['exp 59 s past', { exp: NOW - 59 }, null],
    ['exp 60 s past', { exp: NOW - 60 }, null],
    ['exp 61 s past', { exp: NOW - 61 }, 'ERR_TOKEN_EXPIRED', 'service account token has expired'],
    ['nbf 59 s ahead', { nbf: NOW + 59 }, null],
    ['nbf 60 s ahead', { nbf: NOW + 60 }, null],
    ['nbf 61 s ahead', { nbf: NOW + 61 }, 'ERR_TOKEN_NOT_YET_VALID', 'service account token is not valid yet'],
    ['iat 59 s ahead', { iat: NOW + 59 }, null],
    ['iat 61 s ahead', { iat: NOW + 61 }, 'ERR_TOKEN_ISSUED_IN_FUTURE', 'service account token is issued in the future'],
    ['nbf is checked before exp (as go-jose does)', { nbf: NOW + 61, exp: NOW - 61 }, 'ERR_TOKEN_NOT_YET_VALID'],
    ['fractional dates are truncated (int64 NumericDate)', { nbf: NOW + 60.9 }, null],
  ];
  for (const [name, over, code, message] of cases) {
    test(name, () => {
      const token = sign(over);
      if (code === null) assert.ok(verify(token));
      else assertCode(() => verify(token), code, message);
    });
  }
  test('a custom leeway', () => {
    assertCode(() => verify(sign({ exp: NOW - 11 }), { leewaySeconds: 10 }), 'ERR_TOKEN_EXPIRED');
    assert.ok(verify(sign({ exp: NOW - 10 }), { leewaySeconds: 10 }));
  });
  test('the clock is read per call', () => {
    let now = NOW;
    const verifier = createVerifier({ keys: [es256], issuers: [ISSUER], defaultAudiences: [API], now: () => now });
    const token = sign({});
    assert.ok(verifier.verify(token));
    now = NOW + 3607 + 61;
    assertCode(() => verifier.verify(token), 'ERR_TOKEN_EXPIRED');
  });
});

describe('createVerifier options', () => {
  test('caller misuse is a TypeError', () => {
    const bad: object[] = [
      { keys: [rsa], issuers: [] },
      { keys: [rsa], issuers: 'x' },
      { keys: 'x', issuers: [ISSUER] },
      { keys: [{ kid: 'x' }], issuers: [ISSUER] },
      { keys: [rsa], issuers: [ISSUER], leewaySeconds: -1 },
      { keys: [rsa], issuers: [ISSUER], maxTokenBytes: 0 },
      { keys: [rsa], issuers: [ISSUER], defaultAudiences: [1] },
    ];
    for (const opts of bad) assert.throws(() => createVerifier(opts as Parameters<typeof createVerifier>[0]), TypeError, JSON.stringify(opts));
  });
  test('maxTokenBytes', () => {
    const token = createSigner(rsa).sign(claimsAt(NOW));
    assertCode(() => verifierFor([rsa], NOW, { maxTokenBytes: token.length - 1 }).verify(token), 'ERR_TOKEN_TOO_LARGE');
    assert.ok(verifierFor([rsa], NOW, { maxTokenBytes: token.length }).verify(token));
  });
  test('the public key of a SigningKey or a plain PublicKey both work', () => {
    const pub: PublicKey = { kid: rsa.kid, alg: 'RS256', key: createPublicKey(v.rsaPublicKeyPem) };
    assert.ok(verifierFor([pub]).verify(createSigner(rsa).sign(claimsAt(NOW))));
  });
});
