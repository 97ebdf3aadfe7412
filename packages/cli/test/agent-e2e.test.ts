/**
 * End to end with real processes: `boundtoken server` and `boundtoken agent` (from source, as
 * separate processes on a free loopback port) and the real `kubectl`.
 *
 * - a pod with a projected token volume: the file appears with the right mode and claims, the
 *   auto-injected kube-api-access volume holds token, ca.crt and namespace, the token passes
 *   TokenReview for its audience; deleting the pod removes its directory and the token then
 *   fails review;
 * - a volume that cannot be set up gives a FailedMount event and recovers;
 * - the server killed for a while: the agent keeps the token, logs once, and recovers by itself;
 * - SIGTERM: the node goes NotReady.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const MAIN = join(REPO, 'packages/cli/src/main.ts');
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const NODE = 'e2e-node';

const dir = mkdtempSync(join(tmpdir(), 'bt-agent-e2e-'));
const dataDir = join(dir, 'data');
const rootDir = join(dir, 'root');
const kubeconfig = join(dataDir, 'admin.kubeconfig');
const nodeKubeconfig = join(dir, 'node.kubeconfig');
let port = 0;
let server: Proc | undefined;
let agent: Proc | undefined;

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

/** Runs the CLI from source (tsx) as its own process. */
function cli(args: string[]): Proc {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@boundtoken/source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
      ...args,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}

function cliSync(args: string[]): string {
  const r = spawnSync(
    process.execPath,
    [
      '--conditions=@boundtoken/source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
      ...args,
    ],
    { cwd: REPO, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`boundtoken ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function kubectl(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', input });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

function kubectlOk(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}`);
  return r.out;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = check();
    } catch (err) {
      v = undefined;
      last = err;
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startServer(): Promise<Proc> {
  const p = cli(['server', '--data-dir', dataDir, '--secure-port', String(port), '--bind-address', '127.0.0.1', '--log-level', 'warn']);
  await waitFor('the server', () => {
    if (p.child.exitCode !== null) throw new Error(`the server exited: ${p.err()}`);
    return p.out().includes('ready at');
  }, 30_000);
  return p;
}

async function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function podUID(name: string): string {
  return kubectlOk(['get', 'pod', name, '-o', 'jsonpath={.metadata.uid}']);
}

function volumeDir(uid: string, volume: string): string {
  return join(rootDir, 'pods', uid, 'volumes', 'kubernetes.io~projected', volume);
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

function review(token: string, audience: string): { authenticated?: boolean; error?: string; user?: { username?: string } } {
  const out = kubectlOk(
    ['create', '-f', '-', '-o', 'json'],
    JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } }),
  );
  return (JSON.parse(out) as { status: { authenticated?: boolean; error?: string; user?: { username?: string } } }).status;
}

const POD = `
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  nodeName: ${NODE}
  containers:
  - name: app
    image: nginx
    volumeMounts:
    - name: vault-token
      mountPath: /var/run/secrets/vault
  volumes:
  - name: vault-token
    projected:
      sources:
      - serviceAccountToken:
          path: token
          audience: vault
          expirationSeconds: 1200
`;

describe('agent end to end (server, agent and kubectl as processes)', { skip: !hasKubectl && 'kubectl is not installed', timeout: 180_000 }, () => {
  before(async () => {
    port = await freePort();
    server = await startServer();
    cliSync(['kubeconfig', '--user', `system:node:${NODE}`, '--group', 'system:nodes', '--data-dir', dataDir, '--out', nodeKubeconfig]);
    agent = cli(['agent', '--kubeconfig', nodeKubeconfig, '--node-name', NODE, '--root-dir', rootDir, '--node-status-update-frequency', '1s']);
    await waitFor('the node to be Ready', () => kubectl(['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).out === 'True');
  });

  after(async () => {
    await stop(agent);
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a projected token: mode, claims, kube-api-access, TokenReview; deletion removes the directory and invalidates the token', async () => {
    kubectlOk(['apply', '-f', '-'], POD);
    const uid = podUID('web');
    const vault = volumeDir(uid, 'vault-token');
    await waitFor('the token file', () => existsSync(join(vault, 'token')));
    const token = readFileSync(join(vault, 'token'), 'utf8');
    assert.equal(statSync(join(vault, '..data', 'token')).mode & 0o777, 0o644);

    const c = claims(token);
    assert.deepEqual(c.aud, ['vault']);
    assert.equal((c.exp as number) - (c.iat as number), 1200);
    const k8s = c['kubernetes.io'] as Record<string, { name: string; uid?: string } | string>;
    assert.equal(k8s.namespace, 'default');
    assert.deepEqual(k8s.pod, { name: 'web', uid });
    assert.equal((k8s.serviceaccount as { name: string }).name, 'default');
    assert.equal((k8s.node as { name: string }).name, NODE);
    assert.equal(c.sub, 'system:serviceaccount:default:default');

    const apiAccess = readdirSync(join(rootDir, 'pods', uid, 'volumes', 'kubernetes.io~projected')).find((n) => n.startsWith('kube-api-access-'))!;
    const api = volumeDir(uid, apiAccess);
    await waitFor('kube-api-access', () => existsSync(join(api, 'namespace')));
    assert.deepEqual(readdirSync(api).filter((n) => !n.startsWith('..')).sort(), ['ca.crt', 'namespace', 'token']);
    assert.equal(readFileSync(join(api, 'namespace'), 'utf8'), 'default');
    assert.match(readFileSync(join(api, 'ca.crt'), 'utf8'), /BEGIN CERTIFICATE/);

    const ok = review(token, 'vault');
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user?.username, 'system:serviceaccount:default:default');
    assert.notEqual(review(token, 'someone-else').authenticated, true);

    const status = kubectlOk(['get', 'pod', 'web', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}']);
    assert.equal(status, 'ContainersNotRun');

    kubectlOk(['delete', 'pod', 'web', '--wait=true', '--timeout=20s']);
    await waitFor('the pod directory to go', () => !existsSync(join(rootDir, 'pods', uid)));
    assert.notEqual(review(token, 'vault').authenticated, true);
  });

  test('FailedMount with Kubernetes’ message, then recovery when the configMap appears', async () => {
    kubectlOk(
      ['apply', '-f', '-'],
      POD.replace('name: web', 'name: cfg').replace(/- serviceAccountToken:[\s\S]*$/, '- configMap:\n          name: app-config\n'),
    );
    const event = await waitFor('a FailedMount event', () => {
      const out = kubectl(['get', 'events', '--field-selector', 'involvedObject.name=cfg', '-o', 'jsonpath={.items[*].message}']).out;
      return out.includes('MountVolume.SetUp failed') ? out : undefined;
    });
    assert.match(event, /MountVolume\.SetUp failed for volume "vault-token" : configmaps "app-config" not found/);
    kubectlOk(['create', 'configmap', 'app-config', '--from-literal=greeting=hello']);
    const uid = podUID('cfg');
    await waitFor('the configMap file', () => readFileSync(join(volumeDir(uid, 'vault-token'), 'greeting'), 'utf8') === 'hello');
    kubectlOk(['delete', 'pod', 'cfg', '--wait=false']);
  });

  test('server down: the token stays, failures are logged once, the agent recovers by itself', async () => {
    kubectlOk(['apply', '-f', '-'], POD.replace('name: web', 'name: steady'));
    const uid = podUID('steady');
    const file = join(volumeDir(uid, 'vault-token'), 'token');
    await waitFor('the token', () => existsSync(file));
    const token = readFileSync(file, 'utf8');
    const errBefore = agent!.err().length;

    await stop(server, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(readFileSync(file, 'utf8'), token, 'the token stays while the server is down');
    const during = agent!.err().slice(errBefore).split('\n').filter((l) => l.includes('"level":40'));
    const counts = new Map<string, number>();
    for (const l of during) {
      const msg = (JSON.parse(l) as { msg: string }).msg;
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
    assert.ok(counts.size > 0, 'the outage is logged');
    for (const [msg, n] of counts) assert.equal(n, 1, `"${msg}" logged once per failure streak`);

    server = await startServer();
    await waitFor('node status updates to work again', () => agent!.err().includes('node status updates work again'), 60_000);
    kubectlOk(['apply', '-f', '-'], POD.replace('name: web', 'name: after'));
    const after = podUID('after');
    await waitFor('a new pod after the outage', () => existsSync(join(volumeDir(after, 'vault-token'), 'token')), 60_000);
  });

  test('SIGTERM: the agent stops and the node goes NotReady', async () => {
    await stop(agent);
    assert.equal(agent!.child.exitCode, 0);
    const ready = kubectlOk(['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
    assert.equal(ready, 'AgentStopped');
    assert.match(kubectlOk(['get', 'node', NODE]), /NotReady/);
  });
});
