/**
 * SetVolumeOwnership (pkg/volume/volume_linux.go) for a read-only volume: when the pod has an
 * fsGroup, every entry of the volume directory gets that group; files get `mode | 0440`,
 * directories `mode | 0550 | setgid`; symlinks only change group. A token written 0600 thus
 * becomes 0640, readable by the pod's group. Without an fsGroup nothing changes.
 */
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const READ_ONLY_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

export async function setVolumeOwnership(dir: string, fsGroup: number | undefined): Promise<void> {
  if (fsGroup === undefined) return;
  await changeTree(dir, fsGroup);
}

async function changeTree(path: string, fsGroup: number): Promise<void> {
  const st = await lstat(path);
  await lchown(path, -1, fsGroup);
  if (st.isSymbolicLink()) return;
  const perm = st.mode & 0o7777;
  if (st.isDirectory()) {
    await chmod(path, perm | READ_ONLY_MASK | EXEC_MASK | SETGID);
    for (const name of await readdir(path)) await changeTree(join(path, name), fsGroup);
  } else {
    await chmod(path, perm | READ_ONLY_MASK);
  }
}
