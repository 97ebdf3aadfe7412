/**
 * The Kubernetes AtomicWriter (pkg/volume/util/atomic_writer.go, reference/k8s-node.md §3):
 * projects a set of files into a directory so that readers always see either the complete old
 * set or the complete new set.
 *
 * Layout of a target directory:
 *
 *   ..2026_03_01_19_17_08.1191223127/   the real files (a new directory per change)
 *   ..data -> ..2026_03_01_19_17_08.1191223127
 *   token  -> ..data/token              one link per top-level payload path
 *   ca.crt -> ..data/ca.crt
 *
 * A change writes a new timestamped directory, points `..data_tmp` at it and renames `..data_tmp`
 * over `..data` (rename(2) is atomic), then fixes the top-level links and removes the old
 * directory. Names starting with `..` are reserved. The writer does no locking: callers serialize
 * writes to one directory (the pod worker does).
 *
 * One deliberate difference: the kubelet removes the previous timestamped directory right after
 * the swap, so a reader that has just resolved `..data` to it can still fail with ENOENT. This
 * writer removes it `retainPreviousMs` later (5 s by default; 0 restores the kubelet's behaviour),
 * so a reader in a tight loop never sees a missing file. A crash in between leaves a stale
 * directory that `repairVolumeDir` removes.
 */
import { randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AgentError } from './errors.js';

export const DATA_DIR_NAME = '..data';
export const NEW_DATA_DIR_NAME = '..data_tmp';

const MAX_FILE_NAME_LENGTH = 255;
const MAX_PATH_LENGTH = 4096;

/** One file of a payload. */
export interface FileProjection {
  data: Buffer | string;
  /** Permission bits (e.g. 0o644), applied with chmod so the umask does not matter. */
  mode: number;
  /** When set, the file is chowned to this uid (the kubelet does this for service account tokens). */
  fsUser?: number;
}

/** Payload path (relative, `/`-separated) → file. */
export type Payload = ReadonlyMap<string, FileProjection>;

/**
 * Called with a name relative to the target directory after the new data directory is written and
 * after each new top-level link is created (the kubelet's `setPerms`, i.e. SetVolumeOwnership).
 */
export type SetPerms = (subPath: string) => Promise<void>;

export type WriteResult = 'written' | 'unchanged';

export interface AtomicWriterOptions {
  /** Prefix for errors (`pod ns/name volume v`). */
  logContext?: string;
  /** Time for the timestamped directory name (default: now). */
  now?: () => Date;
  /** How long the previous data directory outlives the swap (default 5000 ms; 0: removed at once). */
  retainPreviousMs?: number;
}

export const DEFAULT_RETAIN_PREVIOUS_MS = 5000;

export class AtomicWriter {
  readonly targetDir: string;
  readonly logContext: string;
  private readonly now: () => Date;
  private readonly retainPreviousMs: number;

  private constructor(targetDir: string, options: AtomicWriterOptions) {
    this.targetDir = targetDir;
    this.logContext = options.logContext ?? targetDir;
    this.now = options.now ?? (() => new Date());
    this.retainPreviousMs = options.retainPreviousMs ?? DEFAULT_RETAIN_PREVIOUS_MS;
  }

  /** A writer for `targetDir`, which must exist (like NewAtomicWriter). */
  static async open(targetDir: string, options: AtomicWriterOptions = {}): Promise<AtomicWriter> {
    try {
      await stat(targetDir);
    } catch (err) {
      throw new AgentError('ERR_TARGET_DIR', `${options.logContext ?? targetDir}: target directory ${targetDir} does not exist`, {
        cause: err,
      });
    }
    return new AtomicWriter(targetDir, options);
  }

  /**
   * Projects `payload` into the target directory. Returns `unchanged` when every file already has
   * these bytes and nothing needs removing (no new directory is written; missing top-level links
   * are still repaired, as upstream does since #121472).
   */
  async write(payload: Payload, setPerms?: SetPerms): Promise<WriteResult> {
    // (1) validate and clean every path
    const clean = validatePayload(payload);

    // (2) the current timestamped directory
    const dataDirPath = join(this.targetDir, DATA_DIR_NAME);
    const oldTsDir = await readlinkOrEmpty(dataDirPath);
    const oldTsPath = oldTsDir === '' ? '' : join(this.targetDir, oldTsDir);

    // (3) what to remove, and whether anything changed
    let toRemove: string[] = [];
    if (oldTsDir !== '') {
      toRemove = await pathsToRemove(clean, oldTsPath);
      if (!(await shouldWritePayload(clean, oldTsPath)) && toRemove.length === 0) {
        await this.createUserVisibleFiles(clean, setPerms);
        return 'unchanged';
      }
    }

    // (4) a new timestamped directory
    const tsDir = await this.newTimestampDir();
    const tsDirName = posix.basename(tsDir);

    try {
      // (5) the files
      await writePayloadToDir(clean, tsDir);
      // (6) ownership
      if (setPerms) await setPerms(tsDirName);
    } catch (err) {
      await rm(tsDir, { recursive: true, force: true });
      throw err;
    }

    // (7) swap ..data atomically
    const newDataDirPath = join(this.targetDir, NEW_DATA_DIR_NAME);
    try {
      await rm(newDataDirPath, { force: true });
      await symlink(tsDirName, newDataDirPath);
      await rename(newDataDirPath, dataDirPath);
    } catch (err) {
      await rm(newDataDirPath, { force: true });
      await rm(tsDir, { recursive: true, force: true });
      throw err;
    }

    // (8) top-level links for new paths
    await this.createUserVisibleFiles(clean, setPerms);

    // (9) drop top-level links of removed paths (nested ones go with the old directory)
    let lastErr: unknown;
    for (const p of toRemove) {
      if (p.includes('/')) continue;
      try {
        await unlink(join(this.targetDir, p));
      } catch (err) {
        lastErr = err;
      }
    }

    // (10) the old directory (later, so readers that resolved ..data to it can finish)
    if (oldTsPath !== '') {
      if (this.retainPreviousMs <= 0) await rm(oldTsPath, { recursive: true, force: true });
      else setTimeout(() => void rm(oldTsPath, { recursive: true, force: true }).catch(() => {}), this.retainPreviousMs).unref();
    }
    if (lastErr !== undefined) throw lastErr;
    return 'written';
  }

  private async createUserVisibleFiles(payload: Payload, setPerms?: SetPerms): Promise<void> {
    const seen = new Set<string>();
    for (const path of payload.keys()) {
      const slash = path.indexOf('/');
      const linkName = slash === -1 ? path : path.slice(0, slash);
      if (seen.has(linkName)) continue;
      seen.add(linkName);
      const visible = join(this.targetDir, linkName);
      if (await exists(visible)) continue;
      await symlink(posix.join(DATA_DIR_NAME, linkName), visible);
      if (setPerms) await setPerms(linkName);
    }
  }

  /** `..YYYY_MM_DD_HH_MM_SS.<random>`, like Go's os.MkdirTemp with that prefix, then chmod 0755. */
  private async newTimestampDir(): Promise<string> {
    const prefix = timestampPrefix(this.now());
    for (let attempt = 0; ; attempt++) {
      const dir = join(this.targetDir, `${prefix}${randomInt(0, 2 ** 32 - 1)}`);
      try {
        await mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw err;
      }
      // group and other must be able to walk the tree, whatever the umask
      await chmod(dir, 0o755);
      return dir;
    }
  }
}

/** `..2006_01_02_15_04_05.` for `date`, in UTC. */
export function timestampPrefix(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `..${p(date.getUTCFullYear(), 4)}_${p(date.getUTCMonth() + 1)}_${p(date.getUTCDate())}_` +
    `${p(date.getUTCHours())}_${p(date.getUTCMinutes())}_${p(date.getUTCSeconds())}.`
  );
}

/** Names of timestamped data directories (`..2026_03_01_19_17_08.123`). */
export const TIMESTAMP_DIR_PATTERN = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.[0-9A-Za-z]+$/;

/**
 * Checks one payload path as the kubelet does. A path may not be empty or absolute, be longer than
 * 4096 bytes, have an element `..` or longer than 255 bytes, or start with `..`.
 */
export function validatePath(targetPath: string): void {
  const fail = (message: string) => {
    throw new AgentError('ERR_INVALID_PATH', `invalid path: ${message}`);
  };
  if (targetPath === '') fail(`must not be empty: ""`);
  if (targetPath.startsWith('/')) fail(`must be relative path: ${targetPath}`);
  if (Buffer.byteLength(targetPath) > MAX_PATH_LENGTH) fail(`must be less than or equal to ${MAX_PATH_LENGTH} characters`);
  const items = targetPath.split('/');
  for (const item of items) {
    if (item === '..') fail(`must not contain '..': ${targetPath}`);
    if (Buffer.byteLength(item) > MAX_FILE_NAME_LENGTH) {
      fail(`filenames must be less than or equal to ${MAX_FILE_NAME_LENGTH} characters`);
    }
  }
  if (items[0]!.startsWith('..') && items[0]!.length > 2) fail(`must not start with '..': ${targetPath}`);
  if (targetPath.includes('\0')) fail(`must not contain NUL: ${JSON.stringify(targetPath)}`);
}

/** Go's filepath.Clean for relative POSIX paths: no `.` elements, no doubled or trailing slashes. */
export function cleanPath(p: string): string {
  const out = posix.normalize(p);
  return out.length > 1 && out.endsWith('/') ? out.slice(0, -1) : out;
}

function validatePayload(payload: Payload): Map<string, FileProjection> {
  const clean = new Map<string, FileProjection>();
  for (const [path, file] of payload) {
    validatePath(path);
    const cleaned = cleanPath(path);
    // `./..data` cleans to a reserved name: check the cleaned path too
    validatePath(cleaned);
    if (cleaned === '.') throw new AgentError('ERR_INVALID_PATH', `invalid path: must name a file: ${path}`);
    if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777) {
      throw new TypeError(`invalid mode ${file.mode} for ${path}`);
    }
    clean.set(cleaned, file);
  }
  return clean;
}

async function readlinkOrEmpty(path: string): Promise<string> {
  try {
    return await readlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Whether any payload file is missing from `oldTsDir` or has different bytes (modes are not compared). */
async function shouldWritePayload(payload: Payload, oldTsDir: string): Promise<boolean> {
  for (const [path, file] of payload) {
    let onDisk: Buffer;
    try {
      onDisk = await readFile(join(oldTsDir, path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return true;
      throw err;
    }
    const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    if (!onDisk.equals(data)) return true;
  }
  return false;
}

/** Every path under `oldTsDir` that is neither a payload path nor a parent directory of one. */
async function pathsToRemove(payload: Payload, oldTsDir: string): Promise<string[]> {
  let current: string[];
  try {
    current = await walk(oldTsDir, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keep = new Set<string>();
  for (const path of payload.keys()) {
    for (let sub = path; sub !== '' && sub !== '.'; sub = posix.dirname(sub)) keep.add(sub);
  }
  return current.filter((p) => !keep.has(p));
}

async function walk(dir: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
    out.push(relPath);
    if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name), relPath)));
  }
  return out;
}

async function writePayloadToDir(payload: Payload, dir: string): Promise<void> {
  for (const [path, file] of payload) {
    const full = join(dir, path);
    await mkdir(posix.dirname(full), { recursive: true, mode: 0o777 });
    await writeFile(full, file.data, { mode: file.mode, flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC });
    // open(2) applies the umask; chmod does not
    await chmod(full, file.mode);
    if (file.fsUser !== undefined) await chown(full, file.fsUser, -1);
  }
}
