import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClaims, createSigner, decodeToken, loadSigningKey } from '@boundtoken/token';
import { kubernetesTestVectors as v } from '@boundtoken/token/testing';
import { main } from '../src/main.js';
import { formatDecoded, formatDuration, runDecode } from '../src/commands/decode.js';

const NOW = 1735689600; // 2025-01-01T00:00:00Z
const key = loadSigningKey(v.rsaPrivateKeyPem);
const token = createSigner(key).sign(
  buildClaims(
    {
      issuer: 'https://kubernetes.default.svc.cluster.local',
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      serviceAccount: { namespace: 'default', name: 'builder', uid: 'sa-uid' },
      pod: { name: 'web-0', uid: 'pod-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
      expirationSeconds: 31536000,
      warnAfterSeconds: 3607,
      jti: '6f0e3c1a-8d7e-4b5a-9c2d-1e0f3a4b5c6d',
    },
    NOW,
  ),
);

/** Runs main() capturing stdout and stderr. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'boundtoken-decode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('formatDecoded (clock frozen)', () => {
  test('header and payload as indented JSON, then the four times with time left or passed', () => {
    const text = formatDecoded(decodeToken(token), NOW + 2 * 3600 + 5 * 60);
    assert.equal(
      text,
      [
        'Header:',
        '{',
        '  "alg": "RS256",',
        `  "kid": "${v.rsaKeyId}"`,
        '}',
        '',
        'Payload:',
        '{',
        '  "aud": [',
        '    "https://kubernetes.default.svc.cluster.local"',
        '  ],',
        '  "exp": 1767225600,',
        '  "iat": 1735689600,',
        '  "iss": "https://kubernetes.default.svc.cluster.local",',
        '  "jti": "6f0e3c1a-8d7e-4b5a-9c2d-1e0f3a4b5c6d",',
        '  "kubernetes.io": {',
        '    "namespace": "default",',
        '    "node": {',
        '      "name": "node-1",',
        '      "uid": "node-uid"',
        '    },',
        '    "pod": {',
        '      "name": "web-0",',
        '      "uid": "pod-uid"',
        '    },',
        '    "serviceaccount": {',
        '      "name": "builder",',
        '      "uid": "sa-uid"',
        '    },',
        '    "warnafter": 1735693207',
        '  },',
        '  "nbf": 1735689600,',
        '  "sub": "system:serviceaccount:default:builder"',
        '}',
        '',
        'Signature: 256 bytes, RS256 (not verified)',
        '',
        'Times (UTC):',
        '  iat        2025-01-01 00:00:00 UTC  (2h 5m ago)',
        '  nbf        2025-01-01 00:00:00 UTC  (2h 5m ago)',
        '  exp        2026-01-01 00:00:00 UTC  (in 364d 21h)',
        '  warnafter  2025-01-01 01:00:07 UTC  (1h 4m ago)',
        '',
      ].join('\n'),
    );
  });
  test('a legacy token has no times', () => {
    const legacy = createSigner(key).sign({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:a:b' });
    assert.match(formatDecoded(decodeToken(legacy), NOW), /Times: none/);
  });
  test('a time claim that is not a number is shown as such', () => {
    const odd = createSigner(key).sign({ exp: 'tomorrow' });
    assert.match(formatDecoded(decodeToken(odd), NOW), /exp {8}not a number: "tomorrow"/);
  });
  test('durations', () => {
    assert.deepEqual([0, 42, 60, 3599, 3600, 86400 * 364 + 7200].map(formatDuration), ['0s', '42s', '1m 0s', '59m 59s', '1h 0m', '364d 2h']);
  });
});

describe('boundtoken decode', () => {
  test('decodes a token given as an argument', async () => {
    const r = await run(['decode', token]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Header:\n\{\n {2}"alg": "RS256"/);
    assert.match(r.out, /"sub": "system:serviceaccount:default:builder"/);
    assert.match(r.out, /exp {8}2026-01-01 00:00:00 UTC {2}\(/);
    assert.equal(r.err, '');
  });
  test('reads a token file (trailing newline ignored)', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, token + '\n');
    const r = await run(['decode', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /"kid": "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU"/);
  });
  test('reads stdin with -', async () => {
    let out = '';
    await runDecode('-', { write: (s) => (out += s), stdin: Readable.from([Buffer.from(`Bearer ${token}\n`)]), now: () => NOW });
    assert.match(out, /"namespace": "default"/);
  });
  test('without an argument on a terminal, says what to pass', async () => {
    const stdin = Object.assign(Readable.from([]), { isTTY: true });
    await assert.rejects(runDecode(undefined, { write: () => {}, stdin, now: () => NOW }), /no token given/);
  });
  const bad: Array<[string, string, RegExp]> = [
    ['two parts', token.split('.').slice(0, 2).join('.'), /^boundtoken: invalid token: token is not a compact JWS/],
    ['four parts', `${token}.x`, /^boundtoken: invalid token: token is not a compact JWS/],
    ['garbage', 'hello', /^boundtoken: invalid token: /],
    ['a payload that is not JSON', `${token.split('.')[0]}.bm90IGpzb24.${token.split('.')[2]}`, /^boundtoken: invalid token: token payload is not valid JSON$/],
    ['padded base64', `${token}==`, /^boundtoken: invalid token: token signature is not canonical unpadded base64url$/],
    ['a missing file', join(dir, 'nope', 'token'), /^boundtoken: decode: cannot read .*: ENOENT$/],
  ];
  for (const [name, arg, pattern] of bad) {
    test(`a malformed token (${name}) is one error line and exit code 1`, async () => {
      const r = await run(['decode', arg]);
      assert.equal(r.code, 1);
      assert.equal(r.out, '');
      assert.equal(r.err.split('\n').filter(Boolean).length, 1, r.err);
      assert.match(r.err.trimEnd(), pattern);
    });
  }
  test('an empty token file is one error line', async () => {
    const file = join(dir, 'empty');
    writeFileSync(file, '');
    const r = await run(['decode', file]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^boundtoken: invalid token: .*\n$/);
  });
});
