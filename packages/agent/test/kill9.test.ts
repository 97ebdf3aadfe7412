import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { ConfigMap } from '@boundtoken/api';
import { volumeDir } from '../src/pod-worker.ts';
import { repairVolumeDir } from '../src/volume-repair.ts';
import { podSpec, startAgent, waitFor } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/rewrite-loop.ts', import.meta.url));

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'bt-kill9-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The generation ..data points at, after checking that its files are one whole generation. */
async function wholeGeneration(dir: string): Promise<number> {
  const current = await readlink(join(dir, '..data'));
  const files = await listFiles(join(dir, current));
  const gens = new Set(await Promise.all(files.map(async (f) => readFile(join(dir, current, f), 'utf8'))));
  assert.equal(gens.size, 1, `one generation in ${current}: ${[...gens].join(', ')}`);
  const gen = Number([...gens][0]!.slice(4));
  const want = gen % 2 === 1 ? ['ca.crt', 'extra', 'sub/x', 'token'] : ['ca.crt', 'token'];
  assert.deepEqual(files.sort(), want, `generation ${gen} is complete`);
  return gen;
}

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, p)));
    else out.push(p);
  }
  return out;
}

async function runAndKill(dir: string, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--conditions=@boundtoken/source', '--import', 'tsx', FIXTURE, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  await new Promise((r) => setTimeout(r, afterMs));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('kill -9 mid-write', () => {
  for (const afterMs of [15, 60, 140, 260]) {
    test(`writer killed after ${afterMs} ms: the volume is whole, and a fresh agent leaves no stray directories`, async () => {
      const uid = `uid-kill-${afterMs}`;
      const root = join(base, `root-${afterMs}`);
      const dir = volumeDir(root, uid, 'kubernetes.io~configmap', 'data');
      await mkdir(dir, { recursive: true });
      await runAndKill(dir, afterMs);

      // whatever the moment of the kill, ..data is one whole generation
      const gen = await wholeGeneration(dir);

      // a fresh agent whose configMap holds that same generation: it only has to repair
      const data: Record<string, string> = { token: `gen-${gen}`, 'ca.crt': `gen-${gen}` };
      if (gen % 2 === 1) Object.assign(data, { extra: `gen-${gen}`, subx: `gen-${gen}` });
      const env = await startAgent({ rootDir: root }, (kube) => {
        kube.put<ConfigMap>('/api/v1/namespaces/shop/configmaps/gen', { metadata: { name: 'gen' }, data });
        kube.put('/api/v1/namespaces/shop/pods/killed', {
          ...podSpec('killed', [
            {
              name: 'data',
              configMap: {
                name: 'gen',
                optional: true,
                items: [
                  { key: 'token', path: 'token' },
                  { key: 'ca.crt', path: 'ca.crt' },
                  { key: 'extra', path: 'extra' },
                  { key: 'subx', path: 'sub/x' },
                ],
              },
            },
          ]),
          metadata: { name: 'killed', namespace: 'shop', uid },
        });
      });
      try {
        await waitFor(() => env.agent.podState(uid)?.volumesReady, 'the volume');
        const entries = (await readdir(dir)).sort();
        const current = await readlink(join(dir, '..data'));
        const visible = gen % 2 === 1 ? ['ca.crt', 'extra', 'sub', 'token'] : ['ca.crt', 'token'];
        assert.deepEqual(entries, [current, '..data', ...visible].sort(), 'no stray directories, no ..data_tmp, no dangling links');
        assert.equal(await wholeGeneration(dir), gen, 'nothing was rewritten');
        for (const f of visible.filter((v) => v !== 'sub')) assert.equal(await readFile(join(dir, f), 'utf8'), `gen-${gen}`);
      } finally {
        await env.cleanup();
      }
    });
  }
});

describe('repairVolumeDir', () => {
  async function volume(name: string): Promise<string> {
    const dir = join(base, name);
    await mkdir(join(dir, '..2026_01_01_00_00_00.1', 'sub'), { recursive: true });
    await writeFile(join(dir, '..2026_01_01_00_00_00.1', 'token'), 'current');
    await writeFile(join(dir, '..2026_01_01_00_00_00.1', 'sub', 'x'), 'current');
    await symlink('..2026_01_01_00_00_00.1', join(dir, '..data'));
    await symlink('..data/token', join(dir, 'token'));
    return dir;
  }

  test('removes ..data_tmp, other timestamped directories and dangling links; adds missing links', async () => {
    const dir = await volume('repair-1');
    await mkdir(join(dir, '..2026_01_01_00_00_01.2'));
    await writeFile(join(dir, '..2026_01_01_00_00_01.2', 'token'), 'half-writ');
    await symlink('..2026_01_01_00_00_01.2', join(dir, '..data_tmp'));
    await symlink('..data/removed', join(dir, 'removed'));
    const result = await repairVolumeDir(dir);
    assert.deepEqual(result.removed.sort(), ['..2026_01_01_00_00_01.2', '..data_tmp', 'removed']);
    assert.deepEqual(result.linked, ['sub']);
    assert.deepEqual((await readdir(dir)).sort(), ['..2026_01_01_00_00_00.1', '..data', 'sub', 'token']);
    assert.equal(await readFile(join(dir, 'sub', 'x'), 'utf8'), 'current');
  });

  test('leaves a healthy volume and foreign entries alone', async () => {
    const dir = await volume('repair-2');
    await symlink('..data/sub', join(dir, 'sub'));
    await writeFile(join(dir, 'not-ours'), 'x');
    assert.deepEqual(await repairVolumeDir(dir), { removed: [], linked: [] });
    assert.ok(existsSync(join(dir, 'not-ours')));
  });

  test('no ..data yet (killed before the first swap): only strays go', async () => {
    const dir = join(base, 'repair-3');
    await mkdir(join(dir, '..2026_01_01_00_00_01.2'), { recursive: true });
    const result = await repairVolumeDir(dir);
    assert.deepEqual(result.removed, ['..2026_01_01_00_00_01.2']);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a missing directory is nothing to repair', async () => {
    assert.deepEqual(await repairVolumeDir(join(base, 'nope')), { removed: [], linked: [] });
  });
});
