/**
 * The common-shape decoders of TokenReview and TokenRequest bodies (body.ts commonShape,
 * endpoints.ts): for every body, in every fieldValidation mode, decoding with one gives the same
 * object, the same warnings and the same error as the general decoder (schema walk and
 * duplicate-key scan) — and the common bodies really take the short path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError } from '@boundtoken/api';
import { checkDecoded, commonShape, jsonKeyCount, parseBody, valueKeyCount, type CommonShape, type ExpectedKind, type FieldValidation } from '../../src/http/body.js';
import { TOKEN_REQUEST_SHAPE, TOKEN_REVIEW_SHAPE } from '../../src/http/endpoints.js';

const KIND = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview' };
const REQUEST_KIND = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
const MODES: FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

type Outcome = { object: unknown; warnings: string[] } | { error: unknown };

function outcome(decode: (warnings: string[]) => unknown): Outcome {
  const warnings: string[] = [];
  try {
    return { object: decode(warnings), warnings };
  } catch (err) {
    if (!isStatusError(err)) throw err;
    return { error: err.status };
  }
}

function general(text: string, mode: FieldValidation, kind: ExpectedKind = KIND): Outcome {
  return outcome((w) => {
    const { value, duplicates } = parseBody('application/json', Buffer.from(text));
    return checkDecoded(value, duplicates, kind, mode, w);
  });
}

function withCommon(text: string, mode: FieldValidation, kind: ExpectedKind = KIND, shape: CommonShape = TOKEN_REVIEW_SHAPE): Outcome {
  return outcome((w) => {
    const p = parseBody('application/json', Buffer.from(text), shape);
    return p.common ?? checkDecoded(p.value, p.duplicates, kind, mode, w);
  });
}

function takesShortPath(text: string, shape: CommonShape = TOKEN_REVIEW_SHAPE): boolean {
  try {
    return parseBody('application/json', Buffer.from(text), shape).common !== undefined;
  } catch {
    return false;
  }
}

/** mulberry32: a small seeded generator, so that a failure repeats. */
function generator(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

const HEAD = '"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview"';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln';

const common: [string, string][] = [
  ['apiVersion, kind and a token', `{${HEAD},"spec":{"token":"${TOKEN}"}}`],
  [
    "client-go's body",
    `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"token":"${TOKEN}","audiences":["https://kubernetes.default.svc","vault"]},"status":{"user":{}}}`,
  ],
  ['pretty-printed', `{\n  "apiVersion": "authentication.k8s.io/v1",\n  "kind": "TokenReview",\n  "spec": {\n    "token": "${TOKEN}"\n  }\n}\n`],
  ['an empty spec', `{${HEAD},"spec":{}}`],
  ['an empty token', `{${HEAD},"spec":{"token":""}}`],
  ['no audiences', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":[]}}`],
  ['escapes, colons and a trailing backslash in strings', `{${HEAD},"spec":{"token":"a:b\\"c\\u0041:\\\\","audiences":["x:y","\\\\"]}}`],
  ['empty metadata and status', `{${HEAD},"metadata":{},"spec":{"token":"${TOKEN}"},"status":{}}`],
  ['an escaped key', `{${HEAD},"spe\\u0063":{"token":"${TOKEN}"}}`],
  ['spec before the kind', `{"spec":{"audiences":["a"],"token":"${TOKEN}"},${HEAD}}`],
  ['a null spec', `{${HEAD},"spec":null}`],
  ['a null token', `{${HEAD},"spec":{"token":null}}`],
  ['null audiences', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":null}}`],
  ['a null metadata', `{${HEAD},"metadata":null,"spec":{"token":"${TOKEN}"}}`],
  ['a null status', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":null}`],
  ['a null status user', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":{"user":null}}`],
];

const general_: [string, string][] = [
  ['a repeated kind', `{${HEAD},"kind":"TokenReview","spec":{"token":"${TOKEN}"}}`],
  ['a repeated spec', `{${HEAD},"spec":{"token":"a"},"spec":{"token":"${TOKEN}"}}`],
  ['a repeated token', `{${HEAD},"spec":{"token":"a","token":"${TOKEN}"}}`],
  ['repeated audiences', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":["a"],"audiences":["b"]}}`],
  ['a repeated creationTimestamp', `{${HEAD},"metadata":{"creationTimestamp":null,"creationTimestamp":null},"spec":{"token":"${TOKEN}"}}`],
  ['a repeated status.user', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":{"user":{},"user":{}}}`],
  ['a key repeated through an escape', `{${HEAD},"spec":{"token":"a"},"spe\\u0063":{"token":"${TOKEN}"}}`],
  ['an unknown top-level field', `{${HEAD},"bogus":1,"spec":{"token":"${TOKEN}"}}`],
  ['an unknown spec field', `{${HEAD},"spec":{"token":"${TOKEN}","bogus":true}}`],
  ['a metadata name', `{${HEAD},"metadata":{"name":"x"},"spec":{"token":"${TOKEN}"}}`],
  ['a status that says authenticated', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":{"authenticated":true}}`],
  ['a status user with a name', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":{"user":{"username":"admin"}}}`],
  ['a null audience', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":[null,"a"]}}`],
  ['a numeric token', `{${HEAD},"spec":{"token":1}}`],
  ['audiences as a string', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":"a"}}`],
  ['a numeric audience', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":[1]}}`],
  ['a spec array', `{${HEAD},"spec":[]}`],
  ['a metadata array', `{${HEAD},"metadata":[],"spec":{"token":"${TOKEN}"}}`],
  ['a status string', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":"x"}`],
  ['another apiVersion', `{"apiVersion":"authentication.k8s.io/v1beta1","kind":"TokenReview","spec":{"token":"${TOKEN}"}}`],
  ['another kind', `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"token":"${TOKEN}"}}`],
  ['no apiVersion', `{"kind":"TokenReview","spec":{"token":"${TOKEN}"}}`],
  ['no kind', `{"apiVersion":"authentication.k8s.io/v1","spec":{"token":"${TOKEN}"}}`],
  ['a null kind', `{"apiVersion":"authentication.k8s.io/v1","kind":null,"spec":{"token":"${TOKEN}"}}`],
  ['an array', `[{${HEAD}}]`],
  ['null', 'null'],
  ['a string', '"TokenReview"'],
  ['__proto__', `{${HEAD},"__proto__":{"x":1},"spec":{"token":"${TOKEN}"}}`],
  ['__proto__ in the spec', `{${HEAD},"spec":{"token":"${TOKEN}","__proto__":{}}}`],
];

describe('the common TokenReview shape', () => {
  for (const [name, text] of common) {
    test(`${name}: the short path, decoded as the general decoder decodes it`, () => {
      assert.ok(takesShortPath(text));
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode), general(text, mode), mode);
    });
  }
  for (const [name, text] of general_) {
    test(`${name}: the general path`, () => {
      assert.ok(!takesShortPath(text));
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode), general(text, mode), mode);
    });
  }

  test('random bodies built from the same pieces decode alike', () => {
    const rand = generator(42);
    const pick = <T>(xs: T[]): T => xs[rand(xs.length)]!;
    const values = ['"x"', '""', 'null', '1', 'true', '[]', '{}', '["a"]', '[null]', '{"user":{}}', '{"creationTimestamp":null}', `"${TOKEN}"`, '"a:\\"b"'];
    const specKeys = ['token', 'audiences', 'bogus', 'token'];
    const topKeys = ['apiVersion', 'kind', 'metadata', 'spec', 'status', 'bogus', 'spec'];
    const member = (k: string, v: string): string => `"${k}":${v}`;
    let short = 0;
    for (let i = 0; i < 2000; i++) {
      const spec = Array.from({ length: rand(4) }, () => {
        const k = pick(specKeys);
        return member(k, k === 'token' && rand(3) > 0 ? `"${TOKEN}"` : k === 'audiences' && rand(2) ? '["a","b"]' : pick(values));
      });
      const members = [member('apiVersion', rand(8) ? '"authentication.k8s.io/v1"' : pick(values)), member('kind', rand(8) ? '"TokenReview"' : pick(values)), member('spec', `{${spec.join(',')}}`)];
      for (let j = rand(3); j > 0; j--) {
        const k = pick(topKeys);
        members.splice(rand(members.length + 1), 0, member(k, k === 'spec' ? `{"token":"${TOKEN}"}` : pick(values)));
      }
      const text = `{${members.join(rand(4) ? ',' : ' , ')}}`;
      if (takesShortPath(text)) short++;
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode), general(text, mode), `${mode}: ${text}`);
    }
    // both paths were exercised
    assert.ok(short > 100 && short < 1900, `${short} of 2000 took the short path`);
  });
});

const RQ = '"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest"';
const REF = '{"apiVersion":"v1","kind":"Pod","name":"web-1","uid":"8a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"}';

describe('the common TokenRequest shape', () => {
  const common: [string, string][] = [
    ["the agent's body", `{${RQ},"spec":{"expirationSeconds":3607,"boundObjectRef":${REF}}}`],
    [
      "client-go's body",
      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"audiences":["vault"],"expirationSeconds":600,"boundObjectRef":{"kind":"Pod","apiVersion":"v1","name":"web-1","uid":"u"}},"status":{"token":"","expirationTimestamp":null}}`,
    ],
    ['a name and namespace', `{${RQ},"metadata":{"name":"sa","namespace":"ns"},"spec":{}}`],
    ['nulls dropped', `{${RQ},"metadata":null,"spec":{"audiences":null,"expirationSeconds":null,"boundObjectRef":null},"status":null}`],
    ['a huge expiration', `{${RQ},"spec":{"expirationSeconds":9007199254740991}}`],
  ];
  const general_: [string, string][] = [
    ['a fractional expiration', `{${RQ},"spec":{"expirationSeconds":3607.5}}`],
    ['an expiration beyond 2^53', `{${RQ},"spec":{"expirationSeconds":9007199254740993}}`],
    ['an expiration as a string', `{${RQ},"spec":{"expirationSeconds":"3607"}}`],
    ['a creationTimestamp', `{${RQ},"metadata":{"creationTimestamp":"2024-01-01T00:00:00Z"},"spec":{}}`],
    ['an expirationTimestamp', `{${RQ},"spec":{},"status":{"expirationTimestamp":"2024-01-01T00:00:00Z"}}`],
    ['labels', `{${RQ},"metadata":{"labels":{"a":"b"}},"spec":{}}`],
    ['an unknown bound object field', `{${RQ},"spec":{"boundObjectRef":{"kind":"Pod","bogus":1}}}`],
    ['a repeated bound object name', `{${RQ},"spec":{"boundObjectRef":{"name":"a","name":"b"}}}`],
    ['a null audience', `{${RQ},"spec":{"audiences":["a",null]}}`],
    ['a TokenReview', `{${HEAD},"spec":{"token":"x"}}`],
  ];
  for (const [name, text] of common) {
    test(`${name}: the short path, decoded as the general decoder decodes it`, () => {
      assert.ok(takesShortPath(text, TOKEN_REQUEST_SHAPE));
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode, REQUEST_KIND, TOKEN_REQUEST_SHAPE), general(text, mode, REQUEST_KIND), mode);
    });
  }
  for (const [name, text] of general_) {
    test(`${name}: the general path`, () => {
      assert.ok(!takesShortPath(text, TOKEN_REQUEST_SHAPE));
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode, REQUEST_KIND, TOKEN_REQUEST_SHAPE), general(text, mode, REQUEST_KIND), mode);
    });
  }

  test('random bodies decode alike', () => {
    const rand = generator(7);
    const pick = <T>(xs: T[]): T => xs[rand(xs.length)]!;
    const values = ['"x"', '""', 'null', '0', '3607', '-1', '1.5', 'true', '[]', '{}', '["a"]', '[null]', '"2024-01-01T00:00:00Z"', '2147483648'];
    const object = (keys: string[], value: (k: string) => string): string =>
      `{${Array.from({ length: rand(keys.length + 1) }, () => {
        const k = pick(keys);
        return `"${k}":${value(k)}`;
      }).join(',')}}`;
    const ref = (): string => object(['kind', 'apiVersion', 'name', 'uid', 'bogus'], () => (rand(3) ? `"${pick(['Pod', 'v1', 'web'])}"` : pick(values)));
    const spec = (): string =>
      object(['audiences', 'expirationSeconds', 'boundObjectRef', 'bogus'], (k) =>
        k === 'boundObjectRef' && rand(3) ? ref() : k === 'expirationSeconds' && rand(2) ? '3607' : k === 'audiences' && rand(2) ? '["a","b"]' : pick(values),
      );
    const metadata = (): string => object(['name', 'namespace', 'creationTimestamp', 'labels'], (k) => (k === 'creationTimestamp' ? pick(['null', '"2024-01-01T00:00:00Z"']) : rand(2) ? '"n"' : pick(values)));
    const status = (): string => object(['token', 'expirationTimestamp'], () => pick(['""', 'null', '"t"', '1']));
    let short = 0;
    for (let i = 0; i < 2000; i++) {
      const members = [RQ, `"spec":${spec()}`];
      if (rand(2)) members.push(`"metadata":${metadata()}`);
      if (rand(3) === 0) members.push(`"status":${status()}`);
      if (rand(10) === 0) members.push(`"bogus":${pick(values)}`);
      const text = `{${members.sort(() => rand(3) - 1).join(',')}}`;
      if (takesShortPath(text, TOKEN_REQUEST_SHAPE)) short++;
      for (const mode of MODES) assert.deepEqual(withCommon(text, mode, REQUEST_KIND, TOKEN_REQUEST_SHAPE), general(text, mode, REQUEST_KIND), `${mode}: ${text}`);
    }
    assert.ok(short > 100 && short < 1900, `${short} of 2000 took the short path`);
  });
});

describe('commonShape', () => {
  test('a path the kind does not have, or of a kind the short path does not decode, is a TypeError', () => {
    assert.throws(() => commonShape(REQUEST_KIND, ['spec.bogus']), TypeError);
    assert.throws(() => commonShape(REQUEST_KIND, ['spec.expirationSeconds.x']), TypeError);
    assert.throws(() => commonShape({ group: '', version: 'v1', kind: 'Nope' }, ['spec']), TypeError);
  });

  test('a field of another kind (a map) is on the short path only when null', () => {
    const configMaps = commonShape({ group: '', version: 'v1', kind: 'ConfigMap' }, ['metadata.name', 'data']);
    assert.ok(takesShortPath('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":null}', configMaps));
    assert.ok(!takesShortPath('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"a":"b"}}', configMaps));
  });
});

describe('key counts', () => {
  const cases: [string, number][] = [
    ['{}', 0],
    ['[]', 0],
    ['{"a":1,"b":{"c":[{"d":null},{"e":"f:g"}]}}', 5],
    ['{"a\\":b":"c:\\\\","d":"\\\\\\"::"}', 2],
    [' { "a" : 1 , "a" : 2 } ', 2],
  ];
  for (const [text, n] of cases) {
    test(`${text} has ${n} keys in its text`, () => assert.equal(jsonKeyCount(text), n));
  }
  test('a parsed value has fewer keys than its text when keys repeat', () => {
    const text = '{"a":1,"b":{"c":2,"c":3},"a":4}';
    assert.equal(jsonKeyCount(text), 5);
    assert.equal(valueKeyCount(JSON.parse(text)), 3);
  });
});
