// Bad input never crashes or hangs the decoder: every failure is a Kubernetes Status error, 400 for bytes
// that are not a valid encoding and 415 for kinds (or fields of partly modelled kinds) it cannot decode.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { isStatusError } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject } from '@boundtoken/api/protobuf';

const MAGIC = Buffer.from('k8s\0', 'binary');

/** Builds a `k8s\0` + runtime.Unknown body around raw message bytes. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork();
  if (apiVersion) w.uint32((1 << 3) | 2).string(apiVersion);
  if (kind) w.uint32((2 << 3) | 2).string(kind);
  w.ldelim();
  w.uint32((2 << 3) | 2).bytes(raw);
  return Buffer.concat([MAGIC, w.finish()]);
}

/** Raw bytes from a list of [field, wireType, value] (value: number → varint, Uint8Array/string → bytes). */
function fields(...list: Array<[number, number, number | string | Uint8Array]>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [id, wt, value] of list) {
    w.uint32((id << 3) | wt);
    if (wt === 0) w.uint64(value as number);
    else if (typeof value === 'string') w.string(value);
    else w.bytes(value as Uint8Array);
  }
  return w.finish();
}

const tokenRequest = (raw: Uint8Array) => envelope('authentication.k8s.io/v1', 'TokenRequest', raw);
const bytes = (...b: number[]) => Uint8Array.from(b);
/** A field tag as its varint bytes. */
const tag = (id: number, wireType: number): number[] => [...protobuf.Writer.create().uint32((id << 3) | wireType).finish()];
/** Field 15 is unknown to TokenRequest; its tags fit one byte. */
const GROUP_START = (15 << 3) | 3;
const GROUP_END = (15 << 3) | 4;

/** Asserts that decoding fails with a Status error of this code and a message matching `message`. */
function assertStatus(body: Uint8Array, code: number, message?: RegExp): void {
  assert.throws(
    () => decodeProtobufObject(body),
    (err: unknown) => {
      assert.ok(isStatusError(err), `not a StatusError: ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.equal(err.reason, code === 400 ? 'BadRequest' : 'UnsupportedMediaType');
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe('decodeProtobufObject refuses bad input', () => {
  const cases: Array<{ name: string; body: Uint8Array; code: number; message?: RegExp }> = [
    { name: 'empty body', body: bytes(), code: 400, message: /expected prefix \[107 56 115 0\]/ },
    { name: 'short magic', body: Buffer.from('k8s'), code: 400, message: /does not appear to be a protobuf message/ },
    { name: 'wrong magic', body: Buffer.from('k8s\u0001\u000a\u0000'), code: 400, message: /expected prefix/ },
    { name: 'a JSON body', body: Buffer.from('{"kind":"TokenRequest"}'), code: 400, message: /expected prefix/ },
    { name: 'magic only: no kind', body: MAGIC, code: 400, message: /Object 'Kind' is missing/ },
    { name: 'no apiVersion', body: envelope('', 'TokenRequest', bytes()), code: 400, message: /Object 'apiVersion' is missing/ },
    { name: 'unknown kind', body: envelope('apps/v1', 'Deployment', bytes()), code: 415, message: /"Deployment" in version "apps\/v1"/ },
    { name: 'kind in the wrong group', body: envelope('v1', 'TokenRequest', bytes()), code: 415 },
    {
      name: 'envelope truncated inside a length',
      body: Buffer.concat([MAGIC, bytes(0x12, 0x05, 0x0a)]),
      code: 400,
      message: /unexpected EOF/,
    },
    {
      name: 'giant raw length (4 GiB)',
      body: Buffer.concat([MAGIC, bytes(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x00)]),
      code: 400,
    },
    {
      name: 'length varint longer than 10 bytes',
      body: Buffer.concat([MAGIC, bytes(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)]),
      code: 400,
      message: /integer overflow/,
    },
    {
      name: 'negative length (2^63)',
      body: Buffer.concat([MAGIC, bytes(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)]),
      code: 400,
      message: /negative length/,
    },
    {
      name: 'wrong wire type: spec as a varint',
      body: tokenRequest(fields([2, 0, 5])),
      code: 400,
      message: /TokenRequest in version "v1" cannot be handled as a TokenRequest: proto: wrong wireType = 0 for field spec/,
    },
    {
      name: 'wrong wire type: expirationSeconds as bytes',
      body: tokenRequest(fields([2, 2, fields([4, 2, 'x'])])),
      code: 400,
      message: /wrong wireType = 2 for field spec\.expirationSeconds/,
    },
    {
      name: 'wrong wire type: fixed64 for a string',
      body: tokenRequest(fields([1, 2, bytes(0x09, 1, 2, 3, 4, 5, 6, 7, 8)])),
      code: 400,
      message: /wrong wireType = 1 for field metadata\.name/,
    },
    { name: 'illegal tag 0', body: tokenRequest(bytes(0x00, 0x00)), code: 400, message: /illegal tag 0/ },
    { name: 'wire type 6', body: tokenRequest(bytes(...tag(99, 6))), code: 400, message: /illegal wireType 6/ },
    { name: 'stray end group', body: tokenRequest(bytes(...tag(99, 4))), code: 400, message: /end group/ },
    { name: 'unterminated group', body: tokenRequest(bytes(...tag(99, 3), 0x08, 0x01)), code: 400, message: /unexpected EOF/ },
    {
      name: 'varint running past its message',
      body: tokenRequest(fields([2, 2, bytes(0x20, 0x80)])),
      code: 400,
      message: /unexpected EOF/,
    },
    {
      name: 'invalid UTF-8 in a string',
      body: tokenRequest(fields([1, 2, fields([1, 2, bytes(0x61, 0xff, 0x62)])])),
      code: 400,
      message: /field metadata\.name contains invalid UTF-8/,
    },
    {
      name: 'invalid UTF-8 in a map key',
      body: tokenRequest(fields([1, 2, fields([11, 2, fields([1, 2, bytes(0xc3)], [2, 2, 'v'])])])),
      code: 400,
      message: /invalid UTF-8/,
    },
    {
      name: 'UTF-16 surrogate encoded in UTF-8 (CESU)',
      body: tokenRequest(fields([1, 2, fields([1, 2, bytes(0xed, 0xa0, 0x80)])])),
      code: 400,
      message: /invalid UTF-8/,
    },
    {
      name: 'time after year 9999',
      body: tokenRequest(fields([3, 2, fields([2, 2, fields([1, 0, 253402300800])])])),
      code: 400,
      message: /outside the range/,
    },
    {
      name: 'int64 beyond 2^53',
      body: tokenRequest(fields([2, 2, fields([4, 0, 2 ** 60])])),
      code: 400,
      message: /does not fit a JSON number/,
    },
    {
      name: 'impossible IntOrString type',
      body: envelope(
        'v1',
        'Pod',
        fields([2, 2, fields([2, 2, fields([1, 2, 'c'], [10, 2, fields([1, 2, fields([3, 2, fields([1, 2, fields([1, 0, 2])])])])])])]),
      ),
      code: 400,
      message: /impossible IntOrString\.Type 2/,
    },
    {
      name: 'malformed quantity',
      body: envelope('v1', 'Node', fields([3, 2, fields([1, 2, fields([1, 2, 'cpu'], [2, 2, fields([1, 2, '12 cores'])])])])),
      code: 400,
      message: /quantities must match/,
    },
    {
      name: 'unmodelled field of a partly modelled message (PodSpec.affinity)',
      body: envelope('v1', 'Pod', fields([2, 2, fields([18, 2, bytes()])])),
      code: 415,
      message: /Pod in version "v1" cannot be handled as a Pod: spec: field number 18 of PodSpec is not supported/,
    },
    {
      name: 'FieldsV1 that is not JSON',
      body: envelope('v1', 'ConfigMap', fields([1, 2, fields([17, 2, fields([7, 2, fields([1, 2, '{not json'])])])])),
      code: 400,
      message: /FieldsV1 is not valid JSON/,
    },
  ];

  for (const c of cases) test(c.name, () => assertStatus(c.body, c.code, c.message));

  test('callers must pass bytes', () => {
    assert.throws(() => decodeProtobufObject('k8s' as unknown as Buffer), TypeError);
  });

  test('deeply nested groups end in a 400, not a stack overflow', () => {
    const depth = 50_000;
    const open = Buffer.alloc(depth, GROUP_START);
    assertStatus(tokenRequest(open), 400, /nesting depth|unexpected EOF/);
    const nested = Buffer.concat([Buffer.alloc(depth, GROUP_START), Buffer.alloc(depth, GROUP_END)]);
    assertStatus(tokenRequest(nested), 400, /nesting depth/);
  });

  test('a giant declared map count costs only what was sent', () => {
    const entry = fields([1, 2, 'k'], [2, 2, 'v']);
    const many = Buffer.concat(Array.from({ length: 20_000 }, () => Buffer.from(fields([11, 2, entry]))));
    const obj = decodeProtobufObject(tokenRequest(fields([1, 2, many])));
    assert.deepEqual((obj.metadata as { labels: object }).labels, { k: 'v' });
  });
});

describe('decodeProtobufObject accepts what Go accepts', () => {
  test('unknown fields of a fully modelled message are skipped (a newer client)', () => {
    const spec = fields([99, 2, 'future'], [98, 0, 7], [1, 2, 'aud']);
    const group = bytes(...tag(97, 3), 0x08, 0x01, ...tag(97, 4));
    const obj = decodeProtobufObject(tokenRequest(fields([2, 2, Buffer.concat([spec, group])])));
    assert.deepEqual(obj.spec, { audiences: ['aud'] });
  });

  test('packed and unpacked repeated varints', () => {
    const unpacked = fields([4, 0, 1], [4, 0, 2]);
    const packed = fields([4, 2, bytes(1, 2)]);
    for (const groups of [unpacked, packed]) {
      const pod = decodeProtobufObject(envelope('v1', 'Pod', fields([2, 2, fields([14, 2, groups])]))) as { spec: unknown };
      assert.deepEqual(pod.spec, { securityContext: { supplementalGroups: [1, 2] } });
    }
  });

  test('a missing raw is the zero object', () => {
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', bytes())), {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {},
      spec: {},
      status: {},
    });
  });
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mutated bodies', () => {
  const seeds = [
    encodeProtobufObject({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'x', labels: { a: 'b' }, creationTimestamp: '2024-05-01T10:00:00Z' },
      spec: { audiences: ['vault'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'u' } },
    }),
    encodeProtobufObject({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m' } } }],
        volumes: [{ name: 'v', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
      },
    }),
  ];

  test('every truncation fails cleanly or decodes', () => {
    for (const seed of seeds) {
      for (let n = 0; n < seed.length; n++) {
        try {
          decodeProtobufObject(seed.subarray(0, n));
        } catch (err) {
          assert.ok(isStatusError(err), `prefix ${n}: ${String(err)}`);
          assert.ok(err.code === 400 || err.code === 415);
        }
      }
    }
  });

  test('5000 random mutations fail cleanly or decode', () => {
    const random = prng(0x5eed);
    let failures = 0;
    for (let i = 0; i < 5000; i++) {
      const body = Buffer.from(seeds[i % seeds.length]!);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = 4 + Math.floor(random() * (body.length - 4));
        body[at] = Math.floor(random() * 256);
      }
      try {
        decodeProtobufObject(body);
      } catch (err) {
        failures++;
        assert.ok(isStatusError(err), `mutation ${i}: ${String(err)}`);
        assert.ok(err.code === 400 || err.code === 415, `mutation ${i}: ${err.code}`);
      }
    }
    assert.ok(failures > 1000, `only ${failures} of 5000 mutations were refused`);
  });
});
