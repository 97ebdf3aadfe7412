/**
 * The kubelet's AtomicWriter, as reference/k8s-node.md §3 describes it, for tests: a new
 * `..<timestamp>.<random>` directory per write, `..data_tmp` → `..data` by rename, user-visible
 * symlinks into `..data`, and the old directory removed afterwards.
 */
import { existsSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, join } from 'node:path';

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`;
}

export function atomicWrite(dir: string, payload: Record<string, string>, mode = 0o644): void {
  let old: string | undefined;
  try {
    old = readlinkSync(join(dir, '..data'));
  } catch {
    old = undefined;
  }
  const tsDir = mkdtempSync(join(dir, timestamp()));
  chmodSync(tsDir, 0o755);
  for (const [name, data] of Object.entries(payload)) {
    writeFileSync(join(tsDir, name), data, { mode });
    chmodSync(join(tsDir, name), mode);
  }
  symlinkSync(basename(tsDir), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(payload)) {
    if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  }
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
}
