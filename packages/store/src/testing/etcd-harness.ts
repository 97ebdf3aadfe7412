/**
 * Real etcd for tests and benchmarks: installs Debian's `etcd-server` when `etcd` is missing, and
 * starts one- or three-member clusters on free loopback ports with temporary data directories.
 *
 * Clean-up is not left to the caller's discipline: `stop()` kills the members and removes the
 * data, a process `exit` handler does the same for clusters still running, and a small watchdog
 * shell process kills the members if this process dies without running either (SIGKILL).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** The running process id (changes on restart; undefined while killed). */
  readonly pid: number | undefined;
  /** Kills the member (default SIGKILL) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed member again on the same ports and data, and waits until it is healthy. */
  restart(): Promise<void>;
}

export interface EtcdTlsMaterial {
  /** PEM of the CA that signed the members' serving certificates and the client certificate. */
  ca: string;
  /** PEM client certificate and key the members accept. */
  cert: string;
  key: string;
  /** Paths of the same files (for `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`). */
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface EtcdCluster {
  /** Client URLs of all members (`https://` when started with `tls`). */
  readonly endpoints: string[];
  /** With `tls: true`: the CA and a client certificate to connect with. */
  readonly tls: EtcdTlsMaterial | undefined;
  readonly members: EtcdMember[];
  /** Kills every member and removes the data (unless `dataDir` was given). Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdClusterOptions {
  members: 1 | 3;
  /** Where member data goes (a `<name>` directory per member); default a fresh temp directory, removed on stop. */
  dataDir?: string;
  /** etcd's `--experimental-watch-progress-notify-interval` (default `1s`, so watches see progress soon). */
  progressNotifyInterval?: string;
  /** More etcd flags for every member. */
  extraArgs?: string[];
  /** How long to wait for the cluster to become healthy (default 30000 ms). */
  startTimeoutMs?: number;
  /**
   * Serve clients over TLS with client-certificate authentication (certificates made with the
   * `openssl` command into the data directory; see `EtcdCluster.tls`).
   */
  tls?: boolean;
}

function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ ok: !err, output: `${stdout}${stderr}${err ? `\n${err.message}` : ''}` }),
    );
  });
}

let installing: Promise<string> | undefined;

/**
 * Resolves to the path of the `etcd` binary, installing Debian's `etcd-server` with apt-get when
 * it is missing. Fails with a clear message when it cannot (not root, no apt-get, no network).
 */
export function ensureEtcdInstalled(): Promise<string> {
  installing ??= install().catch((err: unknown) => {
    installing = undefined;
    throw err;
  });
  return installing;
}

async function install(): Promise<string> {
  const found = findOnPath('etcd');
  if (found) return found;
  const help = 'install it with `apt-get install etcd-server` (Debian/Ubuntu) and run the tests again';
  const aptGet = findOnPath('apt-get');
  if (!aptGet) throw new Error(`etcd is not installed and apt-get is not available: ${help}`);
  if (process.getuid?.() !== 0) throw new Error(`etcd is not installed and installing it needs root: ${help}`);
  // a parallel test process may hold the dpkg lock: wait for it rather than fail
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  let result = await run(aptGet, [...lock, 'install', '-y', '-q', 'etcd-server']);
  if (!result.ok || !findOnPath('etcd')) {
    await run(aptGet, [...lock, 'update', '-q']);
    result = await run(aptGet, [...lock, 'install', '-y', '-q', 'etcd-server']);
  }
  const path = findOnPath('etcd');
  if (!path) throw new Error(`installing etcd-server failed: ${help}\n${result.output.slice(-2000)}`);
  return path;
}

/** A CA, a serving certificate for 127.0.0.1 and a client certificate, made with openssl. */
async function makeTlsMaterial(dir: string): Promise<EtcdTlsMaterial> {
  const openssl = findOnPath('openssl');
  if (!openssl) throw new Error('etcd TLS test clusters need the openssl command (apt-get install openssl)');
  const tlsDir = tlsDirOf(dir);
  mkdirSync(tlsDir, { recursive: true });
  writeFileSync(join(tlsDir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(tlsDir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const sign = (name: string) => ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'];
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=boundtoken etcd test CA', '-days', '2'],
    ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=etcd'],
    [...sign('server'), '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'],
    ['req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=boundtoken'],
    [...sign('client'), '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext'],
  ];
  for (const args of steps) {
    const result = await run(openssl, args, tlsDir);
    if (!result.ok) throw new Error(`openssl ${args[0]} failed:\n${result.output}`);
  }
  const file = (name: string) => join(tlsDir, name);
  return {
    ca: readFileSync(file('ca.crt'), 'utf8'),
    cert: readFileSync(file('client.crt'), 'utf8'),
    key: readFileSync(file('client.key'), 'utf8'),
    caFile: file('ca.crt'),
    certFile: file('client.crt'),
    keyFile: file('client.key'),
  };
}

/** `count` distinct free loopback ports (held open together, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function tlsDirOf(dir: string): string {
  return join(dir, 'tls');
}

/** Everything still running, for the exit handler. */
const live = new Set<ClusterImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cluster of live) cluster.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const cluster of live) cluster.killNow();
      // the default action (terminate) now that our listener is gone
      process.kill(process.pid, signal);
    });
  }
}

// kills the members (checking that a pid still is etcd) once the test process is gone
const WATCHDOG = `
parent=$1; dir=$2; remove=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for p in $(cat "$dir/.pids" 2>/dev/null); do
  if grep -q etcd "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null; fi
done
if [ "$remove" = 1 ]; then rm -rf "$dir"; fi
`;

class MemberImpl implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  #args: string[];
  #etcd: string;
  #cluster: ClusterImpl;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  constructor(cluster: ClusterImpl, etcd: string, name: string, clientUrl: string, peerPort: number, args: string[]) {
    this.#cluster = cluster;
    this.#etcd = etcd;
    this.name = name;
    this.clientUrl = clientUrl;
    this.peerUrl = `http://127.0.0.1:${peerPort}`;
    this.#args = args;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  get log(): string {
    return this.#log;
  }

  spawn(): void {
    const child = spawn(this.#etcd, this.#args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#log = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#log = (this.#log + chunk).slice(-8000);
    });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => {
      this.#log += `\n${err.message}`;
    });
    this.#cluster.writePids();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill(signal);
    await this.#exited;
    this.#cluster.writePids();
  }

  killNow(): void {
    if (this.running) this.#child!.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.running) throw new Error(`etcd member ${this.name} is running`);
    this.spawn();
    await this.#cluster.waitHealthy([this]);
  }

  async healthy(): Promise<boolean> {
    const tls = this.#cluster.tls;
    try {
      if (!tls) {
        const res = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        return res.ok && body.health === 'true';
      }
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsGet(`${this.clientUrl}/health`, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: 1000 }, (res) => {
          let data = '';
          res.setEncoding('utf8').on('data', (d: string) => (data += d));
          res.on('end', () => resolve(data));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
      return (JSON.parse(body) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }
}

class ClusterImpl implements EtcdCluster {
  readonly members: MemberImpl[] = [];
  readonly dir: string;
  tls: EtcdTlsMaterial | undefined;
  readonly #removeDir: boolean;
  readonly #timeoutMs: number;
  #watchdog: ChildProcess | undefined;
  #stopped = false;

  constructor(dir: string, removeDir: boolean, timeoutMs: number) {
    this.dir = dir;
    this.#removeDir = removeDir;
    this.#timeoutMs = timeoutMs;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  startWatchdog(): void {
    const child = spawn('sh', ['-c', WATCHDOG, 'etcd-watchdog', String(process.pid), this.dir, this.#removeDir ? '1' : '0'], {
      stdio: 'ignore',
      detached: true,
    });
    child.on('error', () => {});
    child.unref();
    this.#watchdog = child;
  }

  writePids(): void {
    if (this.#stopped) return;
    const pids = this.members.map((m) => m.pid).filter((p) => p !== undefined);
    try {
      writeFileSync(join(this.dir, '.pids'), pids.join('\n') + '\n');
    } catch {
      // the directory is being removed
    }
  }

  async waitHealthy(members: MemberImpl[]): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const dead = members.find((m) => !m.running);
      if (dead) throw new Error(`etcd member ${dead.name} exited while starting:\n${dead.log}`);
      const health = await Promise.all(members.map((m) => m.healthy()));
      if (health.every(Boolean)) return;
      if (Date.now() > deadline) {
        throw new Error(`etcd did not become healthy within ${this.#timeoutMs} ms:\n${members.map((m) => m.log).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  killNow(): void {
    for (const m of this.members) m.killNow();
    this.#watchdog?.kill('SIGKILL');
    if (this.#removeDir) rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    await Promise.all(this.members.map((m) => m.kill('SIGKILL')));
    this.#stopped = true;
    this.killNow();
  }
}

/** Starts a real etcd cluster on loopback and waits until every member is healthy. */
export async function startEtcdCluster(options: StartEtcdClusterOptions): Promise<EtcdCluster> {
  const { members: count, progressNotifyInterval = '1s', extraArgs = [], startTimeoutMs = 30_000 } = options;
  if (count !== 1 && count !== 3) throw new TypeError('an etcd test cluster has 1 or 3 members');
  const etcd = await ensureEtcdInstalled();
  installExitHook();
  let lastError: unknown;
  // a free port can be taken between choosing and binding it: try again with new ports
  for (let attempt = 0; attempt < 3; attempt++) {
    const removeDir = options.dataDir === undefined;
    const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'boundtoken-etcd-'));
    mkdirSync(dir, { recursive: true });
    const cluster = new ClusterImpl(dir, removeDir, startTimeoutMs);
    live.add(cluster);
    cluster.startWatchdog();
    try {
      if (options.tls) cluster.tls = await makeTlsMaterial(dir);
      const tlsDir = tlsDirOf(dir);
      const scheme = options.tls ? 'https' : 'http';
      const ports = await freePorts(count * 2);
      const names = Array.from({ length: count }, (_, i) => `m${i}`);
      const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[2 * i + 1]}`).join(',');
      const token = `boundtoken-${randomBytes(6).toString('hex')}`;
      names.forEach((name, i) => {
        const client = ports[2 * i]!;
        const peer = ports[2 * i + 1]!;
        const clientUrl = `${scheme}://127.0.0.1:${client}`;
        const args = [
          `--name=${name}`,
          `--data-dir=${join(dir, name)}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          ...(options.tls
            ? [
                `--cert-file=${join(tlsDir, 'server.crt')}`,
                `--key-file=${join(tlsDir, 'server.key')}`,
                `--trusted-ca-file=${join(tlsDir, 'ca.crt')}`,
                '--client-cert-auth',
              ]
            : []),
          `--listen-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-state=new',
          `--initial-cluster-token=${token}`,
          '--logger=zap',
          '--log-level=error',
          // fast elections: a killed leader is replaced in about a second
          '--heartbeat-interval=50',
          '--election-timeout=500',
          `--experimental-watch-progress-notify-interval=${progressNotifyInterval}`,
          ...extraArgs,
        ];
        cluster.members.push(new MemberImpl(cluster, etcd, name, clientUrl, peer, args));
      });
      for (const m of cluster.members) m.spawn();
      await cluster.waitHealthy(cluster.members);
      return cluster;
    } catch (err) {
      lastError = err;
      await cluster.stop();
      if (options.dataDir !== undefined) {
        for (const m of cluster.members) rmSync(join(dir, m.name), { recursive: true, force: true });
        rmSync(join(dir, '.pids'), { force: true });
        rmSync(tlsDirOf(dir), { recursive: true, force: true });
      }
    }
  }
  throw lastError;
}
