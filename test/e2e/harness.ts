/**
 * End-to-end test harness: starts the real `boundtoken` CLI (the compiled one, as users run it)
 * as child processes on free loopback ports with throwaway data dirs, and runs the real kubectl
 * against them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'packages/cli/bin/boundtoken.js');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `boundtoken-${prefix}-`));
}

export interface RunningProcess {
  proc: ChildProcess;
  /** The CLI arguments it was started with. */
  args: string[];
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface ProcessOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Another build of the CLI (a checkout's `packages/cli/bin/boundtoken.js`), to compare two. */
  cli?: string;
  /** Node.js options before the script (`--cpu-prof` …). */
  nodeOptions?: string[];
}

/** Runs the compiled `boundtoken` CLI with `args` as a child process. */
export function startProcess(args: string[], opts: ProcessOptions = {}): RunningProcess {
  const cli = opts.cli ?? CLI;
  if (!existsSync(join(cli, '../../dist/main.js'))) {
    throw new Error(`the CLI is not built (${cli}): run \`npm run build\` (npm test does it first)`);
  }
  const proc = spawn(process.execPath, [...(opts.nodeOptions ?? []), cli, ...args], {
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
    args,
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

export interface ServerOptions extends Pick<ProcessOptions, 'cli' | 'nodeOptions'> {
  /** The data dir to use (kept afterwards); default: a new one, removed by dispose(). */
  dataDir?: string;
  keepDataDir?: boolean;
}

/**
 * Starts `boundtoken server` on a free loopback port (or the `--secure-port` in `extraArgs`);
 * resolves once it is ready.
 */
export async function startServer(extraArgs: string[] = [], opts: ServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir('server');
  const p = startProcess(['server', '--data-dir', dataDir, '--secure-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'warn', ...extraArgs], {
    ...(opts.cli ? { cli: opts.cli } : {}),
    ...(opts.nodeOptions ? { nodeOptions: opts.nodeOptions } : {}),
  });
  let ready: { url: string; kubeconfig: string };
  try {
    ready = await waitFor(
      'the server to be ready',
      () => {
        if (p.proc.exitCode !== null) throw new Error(`server exited with ${p.proc.exitCode}: ${p.stderr()}`);
        const m = /ready at (https:\/\/\S+)\nexport KUBECONFIG=(\S+)/.exec(p.stdout());
        return m ? { url: m[1]!, kubeconfig: m[2]! } : undefined;
      },
      30_000,
    );
  } catch (err) {
    // a server that did not come up is not left running
    await p.stop();
    if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
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

export interface KubectlOptions {
  input?: string;
  /** HOME for kubectl (its discovery cache); default: one shared throwaway dir. */
  home?: string;
  timeoutMs?: number;
  /** The kubectl binary (default `kubectl` on PATH, the dispatcher here); see `kubectlVersionBinary`. */
  binary?: string;
}

function kubectlEnv(kubeconfig: string, home: string | undefined): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: kubeconfig, HOME: home ?? join(tmpdir(), 'boundtoken-kubectl-home') };
}

/** Runs the real kubectl with a kubeconfig and a private HOME (its own discovery cache). */
export function kubectl(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(opts.binary ?? 'kubectl', args, { env: kubectlEnv(kubeconfig, opts.home), stdio: ['pipe', 'pipe', 'pipe'] });
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
export async function kubectlOk(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<string> {
  const r = await kubectl(kubeconfig, args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** kubectl that must fail; resolves with its result (stderr holds the server's message). */
export async function kubectlFails(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const r = await kubectl(kubeconfig, args, opts);
  if (r.code === 0) throw new Error(`kubectl ${args.join(' ')} succeeded but should have failed:\n${r.stdout}`);
  return r;
}

/**
 * A specific kubectl release (`/usr/lib/google-cloud-sdk/bin/kubectl.1.31` …), bypassing the
 * dispatcher that picks one from the server's /version; undefined when it is not installed.
 */
export function kubectlVersionBinary(minor: number): string | undefined {
  const candidates = [`/usr/lib/google-cloud-sdk/bin/kubectl.1.${minor}`, `/usr/local/bin/kubectl.1.${minor}`];
  return candidates.find((c) => existsSync(c));
}

export interface RunningKubectl {
  stdout: () => string;
  stderr: () => string;
  /** Stops kubectl (SIGTERM) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts a long-running kubectl (`get -w`, `port-forward` …); stop it with `stop()`. */
export function spawnKubectl(kubeconfig: string, args: string[], opts: Omit<KubectlOptions, 'input' | 'timeoutMs'> = {}): RunningKubectl {
  const proc = spawn(opts.binary ?? 'kubectl', args, { env: kubectlEnv(kubeconfig, opts.home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  proc.on('error', (e) => (err += String(e)));
  return {
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// identities and raw API requests

interface KubeconfigFile {
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users?: { name: string; user: Record<string, string> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  'current-context'?: string;
}

/** What a kubeconfig's current context holds: server, CA and credentials (PEM / token). */
export interface KubeconfigCredentials {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

export function readKubeconfig(path: string): KubeconfigCredentials {
  const cfg = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  const ctx = cfg.contexts?.find((c) => c.name === cfg['current-context']) ?? cfg.contexts?.[0];
  const cluster = cfg.clusters?.find((c) => c.name === ctx?.context.cluster) ?? cfg.clusters?.[0];
  if (!cluster) throw new Error(`${path}: no cluster`);
  const user = cfg.users?.find((u) => u.name === ctx?.context.user)?.user ?? {};
  const unb64 = (v: string | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8'));
  return {
    server: cluster.cluster.server,
    caPem: unb64(cluster.cluster['certificate-authority-data']) ?? '',
    ...(user['client-certificate-data'] ? { certPem: unb64(user['client-certificate-data'])! } : {}),
    ...(user['client-key-data'] ? { keyPem: unb64(user['client-key-data'])! } : {}),
    ...(user.token ? { token: user.token } : {}),
  };
}

/** Writes a kubeconfig with one cluster, one user and one context; returns `out`. */
export function writeKubeconfig(out: string, c: KubeconfigCredentials): string {
  const b64 = (v: string): string => Buffer.from(v).toString('base64');
  const user: Record<string, string> = {};
  if (c.certPem) user['client-certificate-data'] = b64(c.certPem);
  if (c.keyPem) user['client-key-data'] = b64(c.keyPem);
  if (c.token !== undefined) user.token = c.token;
  writeFileSync(
    out,
    stringifyYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'boundtoken', cluster: { server: c.server, 'certificate-authority-data': b64(c.caPem) } }],
      users: [{ name: 'user', user }],
      contexts: [{ name: 'user@boundtoken', context: { cluster: 'boundtoken', user: 'user' } }],
      'current-context': 'user@boundtoken',
    }),
    { mode: 0o600 },
  );
  return out;
}

/**
 * Writes a kubeconfig for the same cluster as `baseKubeconfig` whose only credential is `token`
 * (or none at all; kubectl then prompts for a user name, so use `apiClient` for anonymous
 * requests) and returns its path.
 */
export function tokenKubeconfig(baseKubeconfig: string, token: string | undefined, out: string): string {
  const { server, caPem } = readKubeconfig(baseKubeconfig);
  return writeKubeconfig(out, { server, caPem, ...(token !== undefined ? { token } : {}) });
}

/** `boundtoken kubeconfig`: a client-certificate kubeconfig for `user` in `groups`, signed by the server's CA. */
export async function mintKubeconfig(server: { dataDir: string; url: string }, user: string, groups: string[], out: string): Promise<string> {
  const p = startProcess(['kubeconfig', '--data-dir', server.dataDir, '--server', server.url, '--user', user, ...groups.flatMap((g) => ['--group', g]), '--out', out]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`boundtoken kubeconfig --user ${user} failed (${code}): ${p.stderr()}`);
  return out;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

export interface ApiRequest {
  method?: string;
  /** Request body; objects are sent as JSON. */
  body?: string | Buffer | object;
  contentType?: string;
  headers?: Record<string, string>;
  /** Overrides the kubeconfig's token (`null`: send no Authorization header). */
  token?: string | null;
  /** Do not present the kubeconfig's client certificate. */
  noClientCertificate?: boolean;
}

export interface ApiClient {
  readonly server: string;
  request(path: string, req?: ApiRequest): Promise<ApiResponse>;
  close(): void;
}

/** Raw HTTPS requests to the API server with a kubeconfig's CA and credentials (keep-alive). */
export function apiClient(kubeconfig: string, opts: { maxSockets?: number } = {}): ApiClient {
  const creds = readKubeconfig(kubeconfig);
  const agentOptions = { ca: creds.caPem, keepAlive: true, maxSockets: opts.maxSockets ?? 8 };
  const withCert = new Agent({ ...agentOptions, ...(creds.certPem && creds.keyPem ? { cert: creds.certPem, key: creds.keyPem } : {}) });
  const withoutCert = new Agent(agentOptions);
  return {
    server: creds.server,
    request(path, req = {}) {
      const url = new URL(path, creds.server);
      const isObject = req.body !== undefined && typeof req.body !== 'string' && !Buffer.isBuffer(req.body);
      const payload = req.body === undefined ? undefined : isObject ? Buffer.from(JSON.stringify(req.body)) : Buffer.from(req.body as string | Buffer);
      const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
      if (payload) {
        headers['Content-Type'] = req.contentType ?? 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const token = req.token === undefined ? creds.token : req.token;
      if (token !== undefined && token !== null) headers.Authorization = `Bearer ${token}`;
      return new Promise<ApiResponse>((resolve, reject) => {
        const r = httpsRequest(url, { method: req.method ?? (payload ? 'POST' : 'GET'), headers, agent: req.noClientCertificate ? withoutCert : withCert }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              json: <T>() => JSON.parse(body) as T,
            });
          });
        });
        r.on('error', reject);
        r.end(payload);
      });
    },
    close() {
      withCert.destroy();
      withoutCert.destroy();
    },
  };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
