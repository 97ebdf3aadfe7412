#!/usr/bin/env node
// Runs every test with node's built-in test runner, TypeScript through tsx.
// Packages resolve to their sources (the "@boundtoken/source" export condition),
// so unit tests need no build; end-to-end tests start the built CLI (npm test builds first).
//
//   node scripts/test.mjs            all tests
//   node scripts/test.mjs --unit     package tests only (no end-to-end)
//   node scripts/test.mjs PATTERN…   test files whose path contains a pattern
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const patterns = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const roots = readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test'));
if (!unitOnly) roots.push(join(root, 'test'));
let files = roots.flatMap((dir) => walk(dir, [])).sort();
if (patterns.length > 0) files = files.filter((f) => patterns.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  [
    '--conditions=@boundtoken/source',
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, BOUNDTOKEN_REPO: root } },
);
process.exit(result.status ?? 1);
