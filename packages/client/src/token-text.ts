/**
 * What counts as a complete token in a file: trimmed, non-empty, and, when it looks like a JWT,
 * three well-formed base64url segments whose header and payload decode to JSON objects and whose
 * signature has a length the header's algorithm allows. A file caught half-written (truncated or
 * empty) fails these checks, so a reader keeps its last good token instead.
 */

export type TokenTextProblem = 'empty' | 'malformed' | 'too-large';

/** Largest token file accepted (Kubernetes tokens are about 1 KiB). */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

const B64URL = /^[A-Za-z0-9_-]*$/;

/** ECDSA signatures are raw R‖S of a fixed size; RSA ones are as long as the modulus. */
const SIG_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };

export function checkTokenText(raw: string, format: 'jwt' | 'opaque' = 'jwt'): { token: string } | { problem: TokenTextProblem; detail: string } {
  const token = raw.trim();
  if (token === '') return { problem: 'empty', detail: 'the file is empty' };
  if (token.length > MAX_TOKEN_FILE_BYTES) return { problem: 'too-large', detail: `the file is larger than ${MAX_TOKEN_FILE_BYTES} bytes` };
  if (format === 'opaque') return { token };
  const parts = token.split('.');
  if (parts.length !== 3) return { problem: 'malformed', detail: `a JWT has 3 dot-separated parts, the file has ${parts.length}` };
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s) || s.length === 0) {
    return { problem: 'malformed', detail: 'the JWT parts are not base64url' };
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload)) throw new Error('not an object');
  } catch {
    return { problem: 'malformed', detail: 'the JWT header or payload is not a JSON object' };
  }
  const alg = (header as { alg?: unknown }).alg;
  const sigBytes = (s.length * 3) >> 2;
  const expected = typeof alg === 'string' ? SIG_BYTES[alg] : undefined;
  if (expected !== undefined ? sigBytes !== expected : /^(RS|PS)/.test(String(alg)) && (sigBytes < 128 || sigBytes % 16 !== 0)) {
    return { problem: 'malformed', detail: `the ${String(alg)} signature is ${sigBytes} bytes long (truncated?)` };
  }
  return { token };
}

function isObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
