#!/usr/bin/env node
// Runs the benchmarks in bench/ one after another (never in parallel: they measure the machine).
// Each prints its own results as ratios against a baseline it measures in the same run.
//
//   npm run bench               every benchmark
//   npm run bench -- token      the ones whose file name contains "token"
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const patterns = process.argv.slice(2);
let files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
if (patterns.length > 0) files = files.filter((f) => patterns.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no benchmarks found');
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(
    process.execPath,
    ['--conditions=@boundtoken/source', '--import', 'tsx', '--expose-gc', join('bench', file)],
    { cwd: root, stdio: 'inherit', env: { ...process.env, BOUNDTOKEN_REPO: root } },
  );
  if (r.status !== 0) {
    failed++;
    console.log(`!!! ${file} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
