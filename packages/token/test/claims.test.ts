import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenError, buildClaims, serializeClaims, type ClaimsInput } from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';

const c = v.claims;
const sa = { namespace: c.namespace, name: c.serviceAccount.name, uid: c.serviceAccount.uid };
const base = (over: Partial<ClaimsInput>): ClaimsInput => ({
  issuer: 'https://kubernetes.default.svc',
  audiences: [],
  serviceAccount: sa,
  expirationSeconds: 100,
  jti: c.jti,
  ...over,
});
const SA = '"serviceaccount":{"name":"mysvcacct","uid":"mysvcacct-uid"}';
const POD = '"pod":{"name":"mypod","uid":"mypod-uid"}';
const NODE = '"node":{"name":"mynode","uid":"mynode-uid"}';
const SECRET = '"secret":{"name":"mysecret","uid":"mysecret-uid"}';
const ISS = '"iss":"https://kubernetes.default.svc"';
const SUB = '"sub":"system:serviceaccount:myns:mysvcacct"';
const T = c.now;

describe('buildClaims: the cases of Kubernetes claims_test.go (clock frozen at 1514764800, jti "fixed")', () => {
  const cases: Array<[string, Partial<ClaimsInput>, string]> = [
    [
      'pod, empty audience (aud omitted)',
      { pod: c.pod },
      `{"exp":${T + 100},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${POD},${SA}},"nbf":${T},${SUB}}`,
    ],
    [
      'secret, single-member audience',
      { secret: c.secret, audiences: ['1'] },
      `{"aud":["1"],"exp":${T + 100},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${SECRET},${SA}},"nbf":${T},${SUB}}`,
    ],
    [
      'no object binding, multi-member audience',
      { audiences: ['1', '2'] },
      `{"aud":["1","2"],"exp":${T + 100},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${SA}},"nbf":${T},${SUB}}`,
    ],
    [
      'warnafter provided (exp 86400, warnafter 3600)',
      { pod: c.pod, expirationSeconds: 86400, warnAfterSeconds: 3600 },
      `{"exp":${T + 86400},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${POD},${SA},"warnafter":${c.warnAfterAt}},"nbf":${T},${SUB}}`,
    ],
    [
      'node alone, "really fast" (exp 0)',
      { node: c.node, expirationSeconds: 0 },
      `{"exp":${T},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${NODE},${SA}},"nbf":${T},${SUB}}`,
    ],
    [
      'pod with its node (ServiceAccountTokenPodNodeInfo)',
      { pod: c.pod, node: c.node, expirationSeconds: 0 },
      `{"exp":${T},"iat":${T},${ISS},"jti":"fixed","kubernetes.io":{"namespace":"myns",${NODE},${POD},${SA}},"nbf":${T},${SUB}}`,
    ],
  ];
  for (const [name, over, json] of cases) {
    test(name, () => {
      const claims = buildClaims(base(over), T);
      assert.equal(serializeClaims(claims), json);
      // the builder already produces sorted keys, so plain JSON.stringify agrees
      assert.equal(JSON.stringify(claims), json);
    });
  }

  test('warnafter = now + 3600 with exp 86400 is 1514768400', () => {
    const claims = buildClaims(base({ pod: c.pod, expirationSeconds: 86400, warnAfterSeconds: 3600 }), T);
    assert.equal(claims['kubernetes.io'].warnafter, 1514768400);
    assert.equal(claims.exp, claims.iat + 86400);
    assert.equal(claims.sub, 'system:serviceaccount:myns:mysvcacct');
    assert.equal(claims.jti, 'fixed');
  });

  const errors: Array<[string, Partial<ClaimsInput>, string]> = [
    ['pod and secret', { pod: c.pod, secret: c.secret }, 'internal error, token can only be bound to one object type'],
    ['node and secret', { node: c.node, secret: c.secret }, 'internal error, token can only be bound to one object type'],
    [
      'node binding with the gate off',
      { node: c.node, features: { nodeBinding: false } },
      'token bound to Node object requested, but "ServiceAccountTokenNodeBinding" feature gate is disabled',
    ],
  ];
  for (const [name, over, message] of errors) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => buildClaims(base(over), T),
        (err: unknown) => err instanceof TokenError && err.code === 'ERR_TOKEN_BINDING_INVALID' && err.message === message,
      );
    });
  }
});

describe('buildClaims: Kubernetes 1.30+ defaults', () => {
  test('the pod-bound token of reference §1 (1 y exp, warnafter 3607, node info)', () => {
    const claims = buildClaims(
      {
        issuer: 'https://kubernetes.default.svc',
        audiences: ['https://kubernetes.default.svc'],
        serviceAccount: { namespace: 'ns', name: 'sa', uid: 'sa-uid' },
        pod: { name: 'p', uid: 'p-uid' },
        node: { name: 'n1', uid: 'n1-uid' },
        expirationSeconds: 31536000,
        warnAfterSeconds: 3607,
        jti: '2b6c8a5e-1c1e-4a3a-9f5e-0c3c5d6e7f80',
      },
      1735689600,
    );
    assert.equal(
      serializeClaims(claims),
      '{"aud":["https://kubernetes.default.svc"],"exp":1767225600,"iat":1735689600,' +
        '"iss":"https://kubernetes.default.svc","jti":"2b6c8a5e-1c1e-4a3a-9f5e-0c3c5d6e7f80",' +
        '"kubernetes.io":{"namespace":"ns","node":{"name":"n1","uid":"n1-uid"},' +
        '"pod":{"name":"p","uid":"p-uid"},"serviceaccount":{"name":"sa","uid":"sa-uid"},' +
        '"warnafter":1735693207},"nbf":1735689600,"sub":"system:serviceaccount:ns:sa"}',
    );
  });
  test('jti defaults to a random UUID v4', () => {
    const a = buildClaims(base({ jti: undefined }), T).jti;
    const b = buildClaims(base({ jti: undefined }), T).jti;
    assert.match(a!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  });
  test('no jti with the JTI gate off', () => {
    assert.equal('jti' in buildClaims(base({ features: { jti: false } }), T), false);
  });
  test('no node info with the PodNodeInfo gate off', () => {
    const k = buildClaims(base({ pod: c.pod, node: c.node, features: { podNodeInfo: false } }), T)['kubernetes.io'];
    assert.deepEqual(k.node, undefined);
    assert.deepEqual(k.pod, c.pod);
  });
  test('a node without a uid (not found) is recorded by name only', () => {
    const k = buildClaims(base({ pod: c.pod, node: { name: 'gone', uid: '' } }), T)['kubernetes.io'];
    assert.deepEqual(k.node, { name: 'gone' });
  });
  test('fractions of a second are dropped, as jwt.NewNumericDate does', () => {
    const claims = buildClaims(base({}), T + 0.999);
    assert.equal(claims.iat, T);
    assert.equal(claims.nbf, T);
    assert.equal(claims.exp, T + 100);
  });
  test('warnAfterSeconds 0 means no warnafter', () => {
    assert.equal('warnafter' in buildClaims(base({ warnAfterSeconds: 0 }), T)['kubernetes.io'], false);
  });
  test('the audiences array is copied', () => {
    const audiences = ['a'];
    const claims = buildClaims(base({ audiences }), T);
    audiences.push('b');
    assert.deepEqual(claims.aud, ['a']);
  });
  test('caller misuse is a TypeError', () => {
    const bad: Array<Partial<ClaimsInput>> = [
      { issuer: '' },
      { audiences: 'a' as unknown as string[] },
      { expirationSeconds: -1 },
      { expirationSeconds: 1.5 },
      { warnAfterSeconds: 0.5 },
      { serviceAccount: { namespace: 'ns', name: 'sa' } as unknown as ClaimsInput['serviceAccount'] },
      { pod: { name: 'p' } as unknown as ClaimsInput['pod'] },
      { jti: 7 as unknown as string },
    ];
    for (const over of bad) assert.throws(() => buildClaims(base(over), T), TypeError, JSON.stringify(over));
    assert.throws(() => buildClaims(base({}), Number.NaN), TypeError);
  });
});

describe('serializeClaims', () => {
  test('sorts keys at every level, including inside arrays', () => {
    assert.equal(
      serializeClaims({ z: 1, a: { y: [{ b: 1, a: 2 }], x: null }, m: 'm' }),
      '{"a":{"x":null,"y":[{"a":2,"b":1}]},"m":"m","z":1}',
    );
  });
  test('sorts integer-like keys as strings, as Go does', () => {
    assert.equal(serializeClaims({ '9': 'a', '10': 'b', b: 1 }), '{"10":"b","9":"a","b":1}');
  });
  test("uses Go's escapes: <, >, & and U+2028/2029 as \\u00XX, \\b \\f as \\u0008 \\u000c", () => {
    assert.equal(
      serializeClaims({ aud: ['https://x?a=1&b=<2>'], s: '\u2028\u2029\b\f\n\t"\\' }),
      '{"aud":["https://x?a=1\\u0026b=\\u003c2\\u003e"],"s":"\\u2028\\u2029\\u0008\\u000c\\n\\t\\"\\\\"}',
    );
  });
  test('a literal backslash followed by b is not mistaken for an escape', () => {
    assert.equal(serializeClaims({ s: '\\b\\f' }), '{"s":"\\\\b\\\\f"}');
  });
  test('a lone surrogate becomes U+FFFD, as Go replaces invalid UTF-8', () => {
    assert.equal(serializeClaims({ s: 'a\ud800b' }), '{"s":"a\\ufffdb"}');
  });
  test('non-ASCII text stays as UTF-8', () => {
    assert.equal(serializeClaims({ s: 'été ✓' }), '{"s":"été ✓"}');
  });
  test('undefined members are omitted and toJSON is honoured', () => {
    assert.equal(serializeClaims({ b: undefined, a: new Date(0) }), '{"a":"1970-01-01T00:00:00.000Z"}');
  });
  test('caller misuse is a TypeError', () => {
    assert.throws(() => serializeClaims(null as unknown as object), TypeError);
    assert.throws(() => serializeClaims([] as unknown as object), TypeError);
  });
});
