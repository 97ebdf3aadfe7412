/**
 * End to end against the real thing: `boundtoken up --demo` (the compiled CLI: API server + node
 * agent, applying examples/manifests), then the SDK as a workload uses it. The sender reads the
 * istio-token the agent projected; receivers verify offline (discovery + JWKS, fetched with the
 * pod's own kube-api-access token, as a pod would) and online (TokenReview with the
 * token-receiver service account the manifest binds to system:auth-delegator).
 *
 * Needs the build (`npm run build`); skipped, loudly, without it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { TokenRequest } from '@boundtoken/api';
import { buildClaims, createSigner, generateSigningKey, loadSigningKey, type SigningKey } from '@boundtoken/token';
import { forgedTokenCorpus } from '@boundtoken/token/testing';
import {
  TokenFile,
  VerificationError,
  createKubeClient,
  createVerifier,
  inClusterConnection,
  loadKubeconfig,
  withAuth,
  withToken,
  type KubeClient,
  type Verifier,
} from '@boundtoken/client';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repo, 'packages/cli/bin/boundtoken.js');
const built = existsSync(join(repo, 'packages/cli/dist/main.js'));
if (!built) console.error('\n!!! the CLI is not built (npm run build): the SDK end-to-end tests are SKIPPED !!!\n');

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const NS = 'istio-system';

describe('SDK against boundtoken up --demo', { skip: !built }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bt-sdk-e2e-'));
  let proc: ChildProcess;
  let out = '';
  let url = '';
  let admin: KubeClient;
  let tokenPath = '';
  let podUid = '';
  let saKey: SigningKey;
  let tokenFile: TokenFile;
  let offline: Verifier;
  let online: Verifier;
  const receivers: { offline: string; online: string } = { offline: '', online: '' };
  const servers: http.Server[] = [];

  before(async () => {
    proc = spawn(process.execPath, [cli, 'up', '--demo', '--data-dir', dataDir, '--secure-port', '0', '--node-name', 'sdk-e2e', '--log-level', 'warn'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 60_000;
    let m: RegExpExecArray | null;
    while (!(m = /API server (https:\/\/\S+),[\s\S]*token file: (\S+)/.exec(out))) {
      if (proc.exitCode !== null || Date.now() > deadline) assert.fail(`boundtoken up --demo did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    url = m[1]!;
    tokenPath = m[2]!;
    podUid = /pods\/([^/]+)\/volumes/.exec(tokenPath)![1]!;
    admin = createKubeClient(loadKubeconfig(join(dataDir, 'admin.kubeconfig')));
    saKey = loadSigningKey(readFileSync(join(dataDir, 'pki', 'sa.key')));
    tokenFile = await TokenFile.open(tokenPath);

    // Offline: discovery fetched with the pod's own kube-api-access token (what a pod has).
    const volumes = dirname(dirname(tokenPath));
    const apiAccess = readdirSync(volumes).find((d) => d.startsWith('kube-api-access-'));
    assert.ok(apiAccess, `no kube-api-access volume in ${volumes}`);
    const port = new URL(url).port;
    const pod = inClusterConnection({ dir: join(volumes, apiAccess), env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port } });
    assert.equal(pod.namespace, NS);
    offline = createVerifier({ issuer: ISSUER, discoveryUrl: url, audiences: ['istio-ca'], fetch: { ca: pod.ca!, token: pod.token } });
    await offline.ready();

    // Online: TokenReview as the token-receiver service account (bound to system:auth-delegator).
    const tr = await admin.create<TokenRequest & { [k: string]: unknown }>(`/api/v1/namespaces/${NS}/serviceaccounts/token-receiver/token`, { spec: {} });
    online = createVerifier({ mode: 'online', audiences: ['istio-ca'], cluster: { server: url, ca: pod.ca!, token: tr.status!.token }, cacheTtlMs: 0 });

    for (const [mode, verifier] of [['offline', offline], ['online', online]] as const) {
      const srv = http.createServer(
        withAuth({ verifier }, (req, res) => {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify(req.identity));
        }),
      );
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      servers.push(srv);
      receivers[mode] = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    }
  });

  after(async () => {
    tokenFile?.close();
    offline?.close();
    online?.close();
    admin?.close();
    for (const s of servers) s.close();
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function both(token: string): Promise<Record<'offline' | 'online', { status: number; body: Record<string, unknown> }>> {
    const res: Record<string, { status: number; body: Record<string, unknown> }> = {};
    for (const [mode, u] of Object.entries(receivers)) {
      const r = await fetch(u, { headers: { authorization: `Bearer ${token}` } });
      res[mode] = { status: r.status, body: (await r.json()) as Record<string, unknown> };
    }
    return res as Record<'offline' | 'online', { status: number; body: Record<string, unknown> }>;
  }

  async function tokenRequest(audiences: string[]): Promise<string> {
    const tr = await admin.create<TokenRequest & { [k: string]: unknown }>(`/api/v1/namespaces/${NS}/serviceaccounts/aspen-mesh-metrics-collector/token`, {
      spec: { audiences, expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'metrics-collector', uid: podUid } },
    });
    return tr.status!.token;
  }

  test('the projected istio-token is accepted offline and online, with the pod identity', async () => {
    const send = withToken(tokenFile);
    for (const [mode, u] of Object.entries(receivers)) {
      const res = await send(u);
      assert.equal(res.status, 200, mode);
      const who = (await res.json()) as Record<string, unknown>;
      assert.equal(who.subject, 'system:serviceaccount:istio-system:aspen-mesh-metrics-collector', mode);
      assert.deepEqual(who.audiences, ['istio-ca'], mode);
      assert.deepEqual((who.pod as { name: string; uid: string }), { name: 'metrics-collector', uid: podUid }, mode);
      assert.equal((who.node as { name: string }).name, 'sdk-e2e', mode);
      assert.match(String(who.jti), /^[0-9a-f-]{36}$/, mode);
      assert.equal(who.verifiedBy, mode);
    }
  });

  test('a token for another audience is refused by both', async () => {
    const vault = await tokenRequest(['vault']);
    const r = await both(vault);
    assert.equal(r.offline.status, 401);
    assert.equal(r.offline.body.code, 'ERR_TOKEN_AUDIENCE_INVALID');
    assert.equal(r.online.status, 401);
    assert.equal(r.online.body.code, 'ERR_TOKEN_AUDIENCE_INVALID');
    const ok = await both(await tokenRequest(['vault', 'istio-ca']));
    assert.deepEqual([ok.offline.status, ok.online.status], [200, 200]);
  });

  test('an expired token (signed with the server key) is refused by both', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = buildClaims(
      { issuer: ISSUER, audiences: ['istio-ca'], serviceAccount: { namespace: NS, name: 'aspen-mesh-metrics-collector', uid: 'x' }, pod: { name: 'metrics-collector', uid: podUid }, expirationSeconds: 3600 },
      now - 3600 - 61,
    );
    const r = await both(createSigner(saKey).sign(claims));
    assert.equal(r.offline.body.code, 'ERR_TOKEN_EXPIRED');
    assert.equal(r.online.body.code, 'ERR_TOKEN_EXPIRED');
    assert.deepEqual([r.offline.status, r.online.status], [401, 401]);
  });

  test('the forged corpus (made with the server key) is refused by both', async () => {
    // The time cases are made 121 s off (past a 120 s leeway) rather than 61 s, so that a slow
    // machine cannot carry them back within the verifiers' real 60 s leeway while the test runs.
    const cases = forgedTokenCorpus({
      key: saKey,
      otherKey: generateSigningKey({ type: 'ec' }),
      issuer: ISSUER,
      audience: 'istio-ca',
      now: Math.floor(Date.now() / 1000),
      leewaySeconds: 120,
    });
    for (const c of cases) {
      await assert.rejects(offline.verify(c.token), (err: unknown) => err instanceof VerificationError && err.code === c.expectedCode, `offline: ${c.name}`);
      await assert.rejects(online.verify(c.token), (err: unknown) => {
        assert.ok(err instanceof VerificationError, c.name);
        assert.ok([c.expectedCode, 'ERR_TOKEN_NOT_AUTHENTICATED'].includes(err.code), `online: ${c.name}: ${err.code} ${err.reason}`);
        return true;
      });
    }
  });

  test('after the pod is deleted its token is refused online (offline accepts it until it expires)', async () => {
    const token = tokenFile.token;
    await admin.delete(`/api/v1/namespaces/${NS}/pods/metrics-collector`, undefined, { query: { gracePeriodSeconds: 0 } });
    const deadline = Date.now() + 30_000;
    let last: unknown;
    for (;;) {
      try {
        await online.verify(token);
      } catch (err) {
        last = err;
        if (err instanceof VerificationError && err.code === 'ERR_TOKEN_NOT_AUTHENTICATED') break;
      }
      if (Date.now() > deadline) assert.fail(`still accepted online 30 s after the deletion (last: ${String(last)})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match((last as VerificationError).reason, /invalidated|not found|does not match/);
    assert.equal((await offline.verify(token)).pod?.uid, podUid);
  });
});
