/**
 * Strict compact-JWS parsing, without verification: exactly three base64url parts (no padding, no
 * whitespace, canonical trailing bits), a header that is a JSON object with a string `alg`, a
 * payload that is a JSON object, and a size limit checked before any work. Also Kubernetes'
 * lenient unverified issuer pre-check (`peekIssuer`).
 */
import { TokenError } from './errors.js';

export interface JwsHeader {
  alg: string;
  kid?: string;
  [k: string]: unknown;
}

export interface DecodedToken {
  header: JwsHeader;
  payload: Record<string, unknown>;
  signature: Buffer;
  /** `<header>.<payload>` as it appears in the token: the bytes the signature covers. */
  signingInput: string;
}

/** Default size limit of decodeToken and the verifiers: 64 KiB (Kubernetes tokens are ~1 KiB). */
export const DEFAULT_MAX_TOKEN_BYTES = 64 * 1024;

function malformed(message: string, cause?: unknown): TokenError {
  return new TokenError('ERR_TOKEN_MALFORMED', message, cause === undefined ? undefined : { cause });
}

const B64_VALUES = (() => {
  const t = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

/**
 * Decodes one base64url part (of an ASCII-only token, see splitToken) strictly: canonical,
 * unpadded, nothing but the 64 characters. Node's decoder is lenient (it reads '+' and '/' too, stops at '=' and skips whitespace and other
 * characters, ignores unused trailing bits), so after decoding: no '+' or '/', exactly
 * ⌊3·length/4⌋ bytes (anything skipped or a stop makes it shorter), and zero unused bits in the
 * last character. Together that is exactly "re-encodes to the same text" — the tests fuzz the two
 * against each other — without allocating the re-encoded string.
 */
export function decodePart(part: string, what: 'header' | 'payload' | 'signature'): Buffer {
  const length = part.length;
  const rem = length & 3;
  let ok = rem !== 1 && part.indexOf('+') < 0 && part.indexOf('/') < 0;
  const bytes = ok ? Buffer.from(part, 'base64url') : EMPTY;
  if (ok && bytes.length !== (length * 3) >> 2) ok = false;
  if (ok && rem !== 0) {
    const last = B64_VALUES[part.charCodeAt(length - 1)] ?? -1;
    ok = last >= 0 && (rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0);
  }
  if (!ok) throw malformed(`token ${what} is not canonical unpadded base64url`);
  return bytes;
}

const EMPTY = Buffer.alloc(0);

function parseJsonObject(bytes: Buffer, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw malformed(`token ${what} is not valid JSON`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Checks the size and the three-part shape; returns the positions of the two dots. */
export function splitToken(token: string, maxBytes: number): [number, number] {
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  if (token.length > maxBytes) {
    throw new TokenError('ERR_TOKEN_TOO_LARGE', `token is larger than ${maxBytes} bytes`);
  }
  // ASCII only (a fast scan): Node's base64 decoder reads only the low byte of a character, so
  // 'Ł' (U+0141) would decode as 'A'. From here on characters are bytes.
  if (Buffer.byteLength(token, 'utf8') !== token.length) throw malformed('token contains non-ASCII characters');
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0 || token.indexOf('.', d2 + 1) >= 0) {
    throw malformed('token is not a compact JWS: it must have exactly three dot-separated parts');
  }
  if (d1 === 0 || d2 === d1 + 1) throw malformed('token header or payload is empty');
  return [d1, d2];
}

/** Parses a header part and validates its shape. */
export function parseHeader(part: string): JwsHeader {
  const header = parseJsonObject(decodePart(part, 'header'), 'header');
  if (typeof header.alg !== 'string') throw malformed('token header has no "alg" string');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw malformed('token header "kid" is not a string');
  if (header.crit !== undefined) throw malformed('token header "crit" is not supported');
  return header as JwsHeader;
}

export function parsePayload(part: string): Record<string, unknown> {
  return parseJsonObject(decodePart(part, 'payload'), 'payload');
}

/**
 * Decodes a compact JWS strictly, without verifying anything. Throws TokenError
 * (ERR_TOKEN_TOO_LARGE, ERR_TOKEN_MALFORMED).
 */
export function decodeToken(token: string, opts: { maxBytes?: number } = {}): DecodedToken {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  const [d1, d2] = splitToken(token, maxBytes);
  const header = parseHeader(token.slice(0, d1));
  const payload = parsePayload(token.slice(d1 + 1, d2));
  const signature = decodePart(token.slice(d2 + 1), 'signature');
  return { header, payload, signature, signingInput: token.slice(0, d2) };
}

const RAW_URL_BASE64 = /^[A-Za-z0-9_-]*$/;

/**
 * Kubernetes' unverified issuer pre-check (`hasCorrectIssuer`): the `iss` of a token that does not
 * start with `{`, has exactly three dot-separated parts and a payload of raw-base64url JSON; else
 * undefined. An authenticator answers "not mine" (no error) when this is not one of its issuers.
 * WARNING: nothing is verified; use it only to route a token to a verifier.
 */
export function peekIssuer(token: string): string | undefined {
  if (typeof token !== 'string' || token.trimStart().startsWith('{')) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  // Go's base64 decoder skips '\r' and '\n'; RawURLEncoding rejects padding and other characters.
  const payload = parts[1]!.replace(/[\r\n]/g, '');
  if (!RAW_URL_BASE64.test(payload) || (payload.length & 3) === 1) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
  const iss = (claims as { iss?: unknown }).iss;
  return typeof iss === 'string' ? iss : undefined;
}
