/**
 * End to end with real processes: `boundtoken server` and `boundtoken agent` (the compiled CLI, as
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
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as harness from './harness.ts';
import { cleanup, haveKubectl, mintKubeconfig, startProcess, startServer, tempDir, waitFor, type RunningProcess, type TestServer } from './harness.ts';

const NODE = 'e2e-node';

const dir = tempDir('agent-e2e');
const dataDir = join(dir, 'data');
const rootDir = join(dir, 'root');
const nodeKubeconfig = join(dir, 'node.kubeconfig');
let server: TestServer | undefined;
let agent: RunningProcess | undefined;

/** kubectl as the admin; its output. */
async function kubectl(args: string[], input?: string): Promise<string> {
  return (await harness.kubectl(server!.kubeconfig, args, input === undefined ? {} : { input })).stdout;
}

/** kubectl as the admin, which must succeed; its output. */
function kubectlOk(args: string[], input?: string): Promise<string> {
  return harness.kubectlOk(server!.kubeconfig, args, input === undefined ? {} : { input });
}

/** The server on this test's data dir: on any free port the first time, on the same port again. */
async function startOurServer(): Promise<TestServer> {
  return startServer(server ? ['--secure-port', new URL(server.url).port] : [], { dataDir });
}

function podUID(name: string): Promise<string> {
  return kubectlOk(['get', 'pod', name, '-o', 'jsonpath={.metadata.uid}']);
}

function volumeDir(uid: string, volume: string): string {
  return join(rootDir, 'pods', uid, 'volumes', 'kubernetes.io~projected', volume);
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

async function review(token: string, audience: string): Promise<{ authenticated?: boolean; error?: string; user?: { username?: string } }> {
  const out = await kubectlOk(
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

describe('agent end to end (server, agent and kubectl as processes)', { skip: !haveKubectl() && 'kubectl is not installed', timeout: 180_000 }, () => {
  before(async () => {
    server = await startOurServer();
    await mintKubeconfig(server, `system:node:${NODE}`, ['system:nodes'], nodeKubeconfig);
    agent = startProcess(['agent', '--kubeconfig', nodeKubeconfig, '--node-name', NODE, '--root-dir', rootDir, '--node-status-update-frequency', '1s']);
    await waitFor('the node to be Ready', async () => (await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True');
  });

  after(async () => {
    await agent?.stop();
    await server?.stop();
    cleanup(dir);
  });

  test('a projected token: mode, claims, kube-api-access, TokenReview; deletion removes the directory and invalidates the token', async () => {
    await kubectlOk(['apply', '-f', '-'], POD);
    const uid = await podUID('web');
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

    const ok = await review(token, 'vault');
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user?.username, 'system:serviceaccount:default:default');
    assert.notEqual((await review(token, 'someone-else')).authenticated, true);

    const status = await kubectlOk(['get', 'pod', 'web', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}']);
    assert.equal(status, 'ContainersNotRun');

    await kubectlOk(['delete', 'pod', 'web', '--wait=true', '--timeout=20s']);
    await waitFor('the pod directory to go', () => !existsSync(join(rootDir, 'pods', uid)));
    assert.notEqual((await review(token, 'vault')).authenticated, true);
  });

  test('FailedMount with Kubernetes’ message, then recovery when the configMap appears', async () => {
    await kubectlOk(
      ['apply', '-f', '-'],
      POD.replace('name: web', 'name: cfg').replace(/- serviceAccountToken:[\s\S]*$/, '- configMap:\n          name: app-config\n'),
    );
    const event = await waitFor('a FailedMount event', async () => {
      const out = await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=cfg', '-o', 'jsonpath={.items[*].message}']);
      return out.includes('MountVolume.SetUp failed') ? out : undefined;
    });
    assert.match(event, /MountVolume\.SetUp failed for volume "vault-token" : configmaps "app-config" not found/);
    await kubectlOk(['create', 'configmap', 'app-config', '--from-literal=greeting=hello']);
    const uid = await podUID('cfg');
    await waitFor('the configMap file', () => readFileSync(join(volumeDir(uid, 'vault-token'), 'greeting'), 'utf8') === 'hello');
    await kubectlOk(['delete', 'pod', 'cfg', '--wait=false']);
  });

  test('server down: the token stays, failures are logged once, the agent recovers by itself', async () => {
    await kubectlOk(['apply', '-f', '-'], POD.replace('name: web', 'name: steady'));
    const uid = await podUID('steady');
    const file = join(volumeDir(uid, 'vault-token'), 'token');
    await waitFor('the token', () => existsSync(file));
    const token = readFileSync(file, 'utf8');
    const errBefore = agent!.stderr().length;

    await server!.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(readFileSync(file, 'utf8'), token, 'the token stays while the server is down');
    const during = agent!.stderr().slice(errBefore).split('\n').filter((l) => l.includes('"level":40'));
    const counts = new Map<string, number>();
    for (const l of during) {
      const msg = (JSON.parse(l) as { msg: string }).msg;
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
    assert.ok(counts.size > 0, 'the outage is logged');
    for (const [msg, n] of counts) assert.equal(n, 1, `"${msg}" logged once per failure streak`);

    server = await startOurServer();
    await waitFor('node status updates to work again', () => agent!.stderr().includes('node status updates work again'), 60_000);
    await kubectlOk(['apply', '-f', '-'], POD.replace('name: web', 'name: after'));
    const after = await podUID('after');
    await waitFor('a new pod after the outage', () => existsSync(join(volumeDir(after, 'vault-token'), 'token')), 60_000);
  });

  test('SIGTERM: the agent stops and the node goes NotReady', async () => {
    assert.equal(await agent!.stop(), 0);
    const ready = await kubectlOk(['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
    assert.equal(ready, 'AgentStopped');
    assert.match(await kubectlOk(['get', 'node', NODE]), /NotReady/);
  });
});
