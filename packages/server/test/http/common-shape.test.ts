/**
 * The common-shape decoder of TokenReview bodies (body.ts CommonShape, reviews.ts
 * commonTokenReview): for every body, in every fieldValidation mode, decoding with it gives the
 * same object, the same warnings and the same error as the general decoder (schema walk and
 * duplicate-key scan) — and the common bodies really take the short path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError } from '@boundtoken/api';
import { checkDecoded, jsonKeyCount, parseBody, valueKeyCount, type FieldValidation } from '../../src/http/body.js';
import { commonTokenReview } from '../../src/tokens/reviews.js';

const KIND = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview' };
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

function general(text: string, mode: FieldValidation): Outcome {
  return outcome((w) => {
    const { value, duplicates } = parseBody('application/json', Buffer.from(text));
    return checkDecoded(value, duplicates, KIND, mode, w);
  });
}

function withCommon(text: string, mode: FieldValidation): Outcome {
  return outcome((w) => {
    const p = parseBody('application/json', Buffer.from(text), commonTokenReview);
    return p.common ?? checkDecoded(p.value, p.duplicates, KIND, mode, w);
  });
}

function takesShortPath(text: string): boolean {
  try {
    return parseBody('application/json', Buffer.from(text), commonTokenReview).common !== undefined;
  } catch {
    return false;
  }
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
  ['a null spec', `{${HEAD},"spec":null}`],
  ['a null token', `{${HEAD},"spec":{"token":null}}`],
  ['null audiences', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":null}}`],
  ['a null audience', `{${HEAD},"spec":{"token":"${TOKEN}","audiences":[null,"a"]}}`],
  ['a null metadata', `{${HEAD},"metadata":null,"spec":{"token":"${TOKEN}"}}`],
  ['a null status', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":null}`],
  ['a null status user', `{${HEAD},"spec":{"token":"${TOKEN}"},"status":{"user":null}}`],
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
    // mulberry32: a small seeded generator, so that a failure repeats
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
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
