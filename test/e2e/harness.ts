/**
 * End-to-end test harness: starts the real `boundtoken` CLI (the compiled one, as users run it)
 * as child processes on free loopback ports with throwaway data dirs, and runs the real kubectl
 * against them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'packages/cli/bin/boundtoken.js');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `boundtoken-${prefix}-`));
}

export interface RunningProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startProcess(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): RunningProcess {
  if (!existsSync(join(REPO, 'packages/cli/dist/main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` (npm test does it first)');
  }
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Waits until `predicate` holds, polling; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, predicate: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface TestServer extends RunningProcess {
  url: string;
  kubeconfig: string;
  dataDir: string;
  /** Stops the server and removes its data dir. */
  dispose(): Promise<void>;
}

/** Starts `boundtoken server` on a free loopback port; resolves once it is ready. */
export async function startServer(extraArgs: string[] = [], opts: { dataDir?: string; keepDataDir?: boolean } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir('server');
  const p = startProcess(['server', '--data-dir', dataDir, '--secure-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'warn', ...extraArgs]);
  const ready = await waitFor(
    'the server to be ready',
    () => {
      if (p.proc.exitCode !== null) throw new Error(`server exited with ${p.proc.exitCode}: ${p.stderr()}`);
      const m = /ready at (https:\/\/\S+)\nexport KUBECONFIG=(\S+)/.exec(p.stdout());
      return m ? { url: m[1]!, kubeconfig: m[2]! } : undefined;
    },
    30_000,
  );
  return {
    ...p,
    ...ready,
    dataDir,
    async dispose() {
      await p.stop();
      if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let kubectlChecked: boolean | undefined;

/** True when a kubectl binary is on PATH; logs loudly once when it is not. */
export function haveKubectl(): boolean {
  if (kubectlChecked === undefined) {
    kubectlChecked = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
    if (!kubectlChecked) console.error('\n!!! kubectl is not installed: the kubectl end-to-end tests are SKIPPED !!!\n');
  }
  return kubectlChecked;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl with a kubeconfig and a private HOME (its own discovery cache). */
export function kubectl(kubeconfig: string, args: string[], opts: { input?: string; home?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn('kubectl', args, {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: opts.home ?? join(tmpdir(), 'boundtoken-kubectl-home') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    proc.stdin.end(opts.input ?? '');
  });
}

/** kubectl that must succeed. */
export async function kubectlOk(kubeconfig: string, args: string[], opts: { input?: string; home?: string } = {}): Promise<string> {
  const r = await kubectl(kubeconfig, args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
