/**
 * `TokenFile`: the current token of a projected volume (or any token file), kept fresh.
 *
 * The kubelet's AtomicWriter publishes a new token by writing a new `..<timestamp>` directory and
 * renaming a `..data_tmp` symlink over `..data`; `token` is a symlink to `..data/token`. Watching
 * the volume directory sees that swap at once; a periodic re-read (at most every 60 s, like
 * client-go) covers what a watch can miss (inotify limits, network filesystems, a plain file
 * rewritten in place, the AWS web identity style). Every read is checked: whitespace trimmed,
 * never empty, and (by default) a complete JWT, so a half-written plain file is not taken. When a
 * read fails, the last good token stays and the error is reported.
 */
import { closeSync, openSync, readSync, statSync, watch as fsWatch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MAX_TOKEN_FILE_BYTES, checkTokenText } from './token-text.js';

export type TokenFileErrorCode =
  /** The file cannot be read (missing, permissions, a directory, …). */
  | 'ERR_TOKEN_FILE_READ'
  /** The file is empty (or only whitespace). */
  | 'ERR_TOKEN_FILE_EMPTY'
  /** The content is not a complete JWT (truncated, half-written, not a token). */
  | 'ERR_TOKEN_FILE_MALFORMED'
  /** The file is larger than 64 KiB. */
  | 'ERR_TOKEN_FILE_TOO_LARGE'
  /** The directory cannot be watched; rotation is then picked up by the periodic re-read only. */
  | 'ERR_TOKEN_FILE_WATCH';

export class TokenFileError extends Error {
  readonly code: TokenFileErrorCode;
  readonly path: string;

  constructor(code: TokenFileErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenFileError';
    this.code = code;
    this.path = path;
  }
}

export interface TokenFileOptions {
  /** Re-read the file at least this often, in ms (default and maximum 60 000). */
  refreshIntervalMs?: number;
  /** Watch the file's directory to see rotations at once (default true). */
  watch?: boolean;
  /** `jwt` (default): only a complete JWT is accepted; `opaque`: any non-empty text. */
  format?: 'jwt' | 'opaque';
}

export interface TokenFileStatus {
  path: string;
  /** When the current token was read (ms since the epoch). */
  readAt: number;
  /** When the token last changed. */
  changedAt: number;
  /** Whether the directory is being watched. */
  watching: boolean;
  /** The last failed read or watch; cleared by the next good read. */
  lastError: TokenFileError | undefined;
}

const MAX_REFRESH_MS = 60_000;
const DEBOUNCE_MS = 5;
const RETRY_MS = 100;
const MAX_RETRIES = 5;

export class TokenFile {
  readonly path: string;
  #token: string;
  #readAt: number;
  #changedAt: number;
  #lastError: TokenFileError | undefined;
  readonly #format: 'jwt' | 'opaque';
  readonly #refreshMs: number;
  readonly #wantWatch: boolean;
  #watcher: FSWatcher | undefined;
  #watchedDir: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retries = 0;
  #reading: Promise<string> | undefined;
  #again = false;
  #closed = false;
  readonly #changeListeners = new Set<(token: string) => void>();
  readonly #errorListeners = new Set<(err: TokenFileError) => void>();

  private constructor(path: string, token: string, options: TokenFileOptions) {
    this.path = path;
    this.#token = token;
    this.#readAt = this.#changedAt = Date.now();
    this.#format = options.format ?? 'jwt';
    this.#refreshMs = options.refreshIntervalMs ?? MAX_REFRESH_MS;
    this.#wantWatch = options.watch ?? true;
    this.#startWatch();
    this.#timer = setInterval(() => void this.read().catch(() => undefined), this.#refreshMs);
    this.#timer.unref();
  }

  /**
   * Reads the token file and keeps it fresh. Rejects with `TokenFileError` when there is no good
   * token to start with.
   */
  static async open(path: string, options: TokenFileOptions = {}): Promise<TokenFile> {
    const full = checkArgs(path, options);
    const token = await readOnce(full, options.format ?? 'jwt');
    return new TokenFile(full, token, options);
  }

  /** Like `open`, reading the first token synchronously (for start-up code). */
  static openSync(path: string, options: TokenFileOptions = {}): TokenFile {
    const full = checkArgs(path, options);
    return new TokenFile(full, readOnceSync(full, options.format ?? 'jwt'), options);
  }

  /** The current token: always a complete, non-empty token (the last good one if a read failed). */
  get token(): string {
    return this.#token;
  }

  status(): TokenFileStatus {
    return {
      path: this.path,
      readAt: this.#readAt,
      changedAt: this.#changedAt,
      watching: this.#watcher !== undefined,
      lastError: this.#lastError,
    };
  }

  /**
   * Re-reads the file now. Resolves with the current token: the new one, or, when the read fails,
   * the last good one (the failure is reported to `onError` and in `status().lastError`).
   */
  read(): Promise<string> {
    if (this.#closed) return Promise.resolve(this.#token);
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** Calls `fn` with each new token; returns an unsubscribe function. */
  onChange(fn: (token: string) => void): () => void {
    this.#changeListeners.add(fn);
    return () => void this.#changeListeners.delete(fn);
  }

  /** Calls `fn` when a read or the watch fails (the last good token stays); returns an unsubscribe function. */
  onError(fn: (err: TokenFileError) => void): () => void {
    this.#errorListeners.add(fn);
    return () => void this.#errorListeners.delete(fn);
  }

  /** Stops watching and re-reading. The last token stays readable. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    clearTimeout(this.#retry);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  async #readLoop(): Promise<string> {
    do {
      this.#again = false;
      try {
        const token = await readOnce(this.path, this.#format);
        this.#accept(token);
      } catch (err) {
        this.#fail(err as TokenFileError);
      }
    } while (this.#again && !this.#closed);
    this.#checkWatch();
    return this.#token;
  }

  #accept(token: string): void {
    this.#readAt = Date.now();
    this.#lastError = undefined;
    this.#retries = 0;
    if (token === this.#token) return;
    this.#token = token;
    this.#changedAt = this.#readAt;
    for (const fn of this.#changeListeners) {
      try {
        fn(token);
      } catch {
        // a listener's bug must not stop the others or the reader
      }
    }
  }

  #fail(err: TokenFileError): void {
    this.#report(err);
    // A swap caught mid-way (the old directory removed under us) settles within moments: retry soon.
    if (this.#retries < MAX_RETRIES && !this.#closed) {
      this.#retries++;
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.read(), RETRY_MS * this.#retries);
      this.#retry.unref();
    }
  }

  #report(err: TokenFileError): void {
    this.#lastError = err;
    for (const fn of this.#errorListeners) {
      try {
        fn(err);
      } catch {
        // ignore listener bugs
      }
    }
  }

  /**
   * A watch follows a directory's inode: when the volume directory is removed (and perhaps set up
   * again), the old watch sees nothing more. Drop it, and watch the directory now at the path.
   */
  #checkWatch(): void {
    if (!this.#wantWatch || this.#closed) return;
    const id = dirIdentity(dirname(this.path));
    if (this.#watcher && id === this.#watchedDir) return;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (id !== undefined) this.#startWatch();
  }

  #startWatch(): void {
    if (!this.#wantWatch || this.#closed) return;
    const dir = dirname(this.path);
    try {
      this.#watchedDir = dirIdentity(dir);
      const watcher = fsWatch(dir, { persistent: false }, () => this.#changed());
      watcher.on('error', (err) => {
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
        this.#report(new TokenFileError('ERR_TOKEN_FILE_WATCH', this.path, `watching ${dir} failed: ${err.message}`, { cause: err }));
        this.#changed();
      });
      this.#watcher = watcher;
    } catch (err) {
      this.#report(
        new TokenFileError('ERR_TOKEN_FILE_WATCH', this.path, `cannot watch ${dir}: ${(err as Error).message}; re-reading every ${this.#refreshMs} ms`, {
          cause: err,
        }),
      );
    }
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.read(), DEBOUNCE_MS);
    this.#debounce.unref();
  }
}

/** Which directory is at `dir` now: inode and (where the filesystem keeps it) creation time. */
function dirIdentity(dir: string): string | undefined {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
  } catch {
    return undefined;
  }
}

function checkArgs(path: string, options: TokenFileOptions): string {
  if (typeof path !== 'string' || path === '') throw new TypeError('TokenFile: path must be a non-empty string');
  const ms = options.refreshIntervalMs;
  if (ms !== undefined && !(Number.isFinite(ms) && ms > 0 && ms <= MAX_REFRESH_MS)) {
    throw new TypeError(`TokenFile: refreshIntervalMs must be in (0, ${MAX_REFRESH_MS}]`);
  }
  if (options.format !== undefined && options.format !== 'jwt' && options.format !== 'opaque') {
    throw new TypeError('TokenFile: format must be "jwt" or "opaque"');
  }
  return resolve(path);
}

function checked(path: string, raw: string, format: 'jwt' | 'opaque'): string {
  const c = checkTokenText(raw, format);
  if ('token' in c) return c.token;
  const code = c.problem === 'empty' ? 'ERR_TOKEN_FILE_EMPTY' : c.problem === 'too-large' ? 'ERR_TOKEN_FILE_TOO_LARGE' : 'ERR_TOKEN_FILE_MALFORMED';
  return fail(new TokenFileError(code, path, `token file ${path}: ${c.detail}`));
}

function fail(err: TokenFileError): never {
  throw err;
}

function readError(path: string, err: unknown): TokenFileError {
  return new TokenFileError('ERR_TOKEN_FILE_READ', path, `cannot read token file ${path}: ${(err as Error).message}`, { cause: err });
}

/** One checked read of a token file (bounded: never more than 64 KiB + 1 in memory). */
export async function readOnce(path: string, format: 'jwt' | 'opaque' = 'jwt'): Promise<string> {
  let raw: string;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      raw = buf.toString('utf8', 0, n);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw readError(path, err);
  }
  return checked(path, raw, format);
}

function readOnceSync(path: string, format: 'jwt' | 'opaque'): string {
  let raw: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
      let n = 0;
      while (n < buf.length) {
        const bytesRead = readSync(fd, buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      raw = buf.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw readError(path, err);
  }
  return checked(path, raw, format);
}

/** Reads a token file once (checked as `TokenFile` does), for code that does not keep a reader. */
export function readTokenFile(path: string, options: { format?: 'jwt' | 'opaque' } = {}): Promise<string> {
  return readOnce(resolve(path), options.format ?? 'jwt');
}
