/**
 * Restores a projected volume directory after the writer was killed mid-write (kill -9, crash).
 * The `..data` rename is atomic, so the data is always one whole generation; what a crash can
 * leave behind is around it: a half-written timestamped directory, a `..data_tmp` link, the
 * previous generation's directory, top-level links of the new generation not yet created, or
 * links of removed paths not yet deleted. The agent runs this once per volume before its first
 * write in a process.
 */
import { lstat, readdir, readlink, rm, symlink, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { DATA_DIR_NAME, NEW_DATA_DIR_NAME, TIMESTAMP_DIR_PATTERN, type SetPerms } from './atomic-writer.js';

export interface RepairResult {
  /** Entries removed (stray directories, `..data_tmp`, dangling links). */
  removed: string[];
  /** Top-level links created for files of the current generation. */
  linked: string[];
}

export async function repairVolumeDir(dir: string, setPerms?: SetPerms): Promise<RepairResult> {
  const result: RepairResult = { removed: [], linked: [] };
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw err;
  }
  let current = '';
  try {
    current = await readlink(join(dir, DATA_DIR_NAME));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EINVAL') throw err;
  }

  for (const name of entries) {
    const path = join(dir, name);
    if (name === NEW_DATA_DIR_NAME || (TIMESTAMP_DIR_PATTERN.test(name) && name !== current)) {
      await rm(path, { recursive: true, force: true });
      result.removed.push(name);
      continue;
    }
    if (name.startsWith('..')) continue;
    // a top-level link into ..data whose file is gone: a removed path whose link survived the crash
    let target: string;
    try {
      target = await readlink(path);
    } catch {
      continue; // not a link: not ours to touch
    }
    if (!target.startsWith(`${DATA_DIR_NAME}/`)) continue;
    if (current === '' || !(await exists(join(dir, current, target.slice(DATA_DIR_NAME.length + 1))))) {
      await unlink(path);
      result.removed.push(name);
    }
  }

  if (current !== '') {
    let files: string[] = [];
    try {
      files = await readdir(join(dir, current));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of files) {
      const visible = join(dir, name);
      if (await exists(visible)) continue;
      await symlink(posix.join(DATA_DIR_NAME, name), visible);
      if (setPerms) await setPerms(name);
      result.linked.push(name);
    }
  }
  return result;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}
