import { TokenFile } from '../token-file.js';

/** Where an outgoing request's token comes from: a `TokenFile` (re-read as it rotates), a fixed string, or a function. */
export type TokenSource = TokenFile | string | (() => string);

export interface AttachOptions {
  /** Header to set (default `authorization`, as `Bearer <token>`; e.g. `x-auth-token` for the bare token). */
  header?: string;
  /** Scheme before the token (default `Bearer` for `authorization`, none for other headers). */
  scheme?: string | null;
  /** Replace a header the caller set explicitly (default false: the caller's wins). */
  override?: boolean;
}

export function currentToken(source: TokenSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof TokenFile) return source.token;
  return source();
}

export function headerFor(options: AttachOptions): { name: string; prefix: string } {
  const name = (options.header ?? 'authorization').toLowerCase();
  if (!/^[a-z0-9-]+$/.test(name)) throw new TypeError('header must be an HTTP header name');
  const scheme = options.scheme === undefined ? (name === 'authorization' ? 'Bearer' : null) : options.scheme;
  return { name, prefix: scheme ? `${scheme} ` : '' };
}

export function checkSource(source: unknown): asserts source is TokenSource {
  if (typeof source !== 'string' && typeof source !== 'function' && !(source instanceof TokenFile)) {
    throw new TypeError('token source must be a TokenFile, a string or a function returning the token');
  }
}
