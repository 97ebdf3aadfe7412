/**
 * A bearer token read from a file and re-read lazily, the way client-go's cached file token source
 * does: at most once per `maxAgeMs` (default 60 s), on the next request, whitespace trimmed; when a
 * re-read fails (missing, empty, half-written) the last good token stays in use.
 */
import { readFileSync } from 'node:fs';
import { checkTokenText } from '../token-text.js';
import { ConfigError } from './errors.js';

export interface FileTokenSourceOptions {
  /** Re-read the file when the copy in memory is older than this (default 60 000 ms). */
  maxAgeMs?: number;
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Called when a re-read fails and the last good token is kept. */
  onError?: (err: Error) => void;
}

/** Reads `path` now (throwing `ConfigError` if that fails) and returns a function giving the current token. */
export function fileTokenSource(path: string, options: FileTokenSourceOptions = {}): () => string {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  let token = readToken(path);
  let readAt = now();
  return () => {
    if (now() - readAt < maxAgeMs) return token;
    readAt = now();
    try {
      token = readToken(path);
    } catch (err) {
      options.onError?.(err as Error);
    }
    return token;
  };
}

/** Reads and checks one token file; throws `ConfigError` (`ERR_CONFIG_READ`) saying why it is unusable. */
export function readToken(path: string): string {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('ERR_CONFIG_READ', `cannot read token file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const checked = checkTokenText(raw, 'opaque');
  if ('problem' in checked) throw new ConfigError('ERR_CONFIG_READ', `token file ${path}: ${checked.detail}`);
  return checked.token;
}
