/**
 * The examples in examples/ run as documented: as separate processes, against a local issuer and
 * TokenReview server, with tokens in an AtomicWriter volume.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { atomicWrite } from './helpers/atomic-writer.ts';
import { createTestPki } from './helpers/pki.ts';
import { signToken, startIssuer, testKeys, type TestIssuer } from './helpers/issuer.ts';
import { startReviewServer, type ReviewServer } from './helpers/token-review-server.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'bt-examples-'));
const volume = join(dir, 'volume');
const caFile = join(dir, 'ca.crt');
let iss: TestIssuer;
let api: ReviewServer;
const children: ChildProcess[] = [];

before(async () => {
  writeFileSync(caFile, pki.caCert);
  iss = await startIssuer(pki, [testKeys().ec]);
  api = await startReviewServer(pki, [testKeys().ec], iss.issuer, Date.now);
  mkdirSync(volume);
  atomicWrite(volume, { 'istio-token': signToken(testKeys().ec, iss.issuer, Math.floor(Date.now() / 1000)) });
});
after(async () => {
  for (const c of children) c.kill();
  await iss.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

function run(file: string, env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--conditions=@boundtoken/source', '--import', 'tsx', join('examples', file)], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function listening(p: ReturnType<typeof run>): Promise<string> {
  const end = Date.now() + 60_000;
  for (;;) {
    const m = /listening on (http:\/\/[\d.]+:\d+\/)/.exec(p.output());
    if (m) return m[1]!;
    if (p.child.exitCode !== null || Date.now() > end) assert.fail(`did not start:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The scripts start as separate processes (tsx compiles each one), so they are started together.
test('the examples, as processes: local demo; sender → receivers offline and online; the X-Auth-Token pair; a refusal', async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: api.srv.url, 'certificate-authority': caFile } }],
      users: [{ name: 'u', user: { token: 'reviewer-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  const tokenFile = join(volume, 'istio-token');
  const demo = run('local-demo.ts', {});
  const offlineReceiver = run('service-to-service/receiver-offline.ts', { ISSUER: iss.issuer, CA_FILE: caFile, PORT: '0', READER_TOKEN_FILE: '' });
  const onlineReceiver = run('service-to-service/receiver-online.ts', { KUBECONFIG: kubeconfig, PORT: '0' });
  const strictReceiver = run('service-to-service/receiver-online.ts', { KUBECONFIG: kubeconfig, PORT: '0', AUDIENCE: 'vault' });
  const xServer = run('x-auth-token/server.ts', { ISSUER: iss.issuer, CA_FILE: caFile, PORT: '0' });
  const [offlineUrl, onlineUrl, strictUrl, xUrl] = await Promise.all([offlineReceiver, onlineReceiver, strictReceiver, xServer].map(listening));

  const toOffline = run('service-to-service/sender.ts', { TOKEN_FILE: tokenFile, RECEIVER_URL: offlineUrl!, COUNT: '2', INTERVAL_MS: '10' });
  const toOnline = run('service-to-service/sender.ts', { TOKEN_FILE: tokenFile, RECEIVER_URL: onlineUrl!, COUNT: '1' });
  const refused = run('service-to-service/sender.ts', { TOKEN_FILE: tokenFile, RECEIVER_URL: strictUrl!, COUNT: '1' });
  const xClient = run('x-auth-token/client.ts', { TOKEN_FILE: tokenFile, SERVER_URL: xUrl! });
  const [demoCode, offlineCode, onlineCode, refusedCode, xCode] = await Promise.all([demo, toOffline, toOnline, refused, xClient].map((p) => p.exited));

  // local-demo.ts: the whole flow on its own
  assert.equal(demoCode, 0, demo.output());
  const out = demo.output();
  assert.match(out, /a fresh token:\n {2}offline 200 hello aspen-mesh-metrics-collector[^\n]*\n {2}online {2}200 /);
  assert.match(out, /after the agent rotated it:\n {2}offline 200 /);
  assert.match(out, /audience vault {2}401 Bearer error="invalid_token"/);
  assert.match(out, /expired {9}401 Bearer error="invalid_token", error_description="service account token has expired"/);
  assert.match(out, /after the pod was deleted[^\n]*\n {2}offline 200 [^\n]*\n[^\n]*ERR_TOKEN_NOT_AUTHENTICATED[^\n]*\n {2}online {2}401/);

  // sender → receiver-offline
  assert.equal(offlineCode, 0, toOffline.output());
  assert.match(toOffline.output(), /^200 \{"hello":"aspen-mesh-metrics-collector","namespace":"istio-system","pod":"collector-0","verifiedBy":"offline"\}$/m);
  assert.match(offlineReceiver.output(), /accepted system:serviceaccount:istio-system:aspen-mesh-metrics-collector \(pod collector-0/);

  // sender → receiver-online (TokenReview through a kubeconfig)
  assert.equal(onlineCode, 0, toOnline.output());
  assert.match(toOnline.output(), /"verifiedBy":"online"/);

  // a receiver requiring another audience refuses the token
  assert.equal(refusedCode, 1, refused.output());
  assert.match(refused.output(), /^401 .*ERR_TOKEN_AUDIENCE_INVALID/m);

  // the X-Auth-Token pair; a Bearer header is not what that server reads
  assert.equal(xCode, 0, xClient.output());
  assert.match(xClient.output(), /^200 Hello system:serviceaccount:istio-system:aspen-mesh-metrics-collector/m);
  assert.equal((await fetch(xUrl!, { headers: { authorization: 'Bearer x' } })).status, 401);
});
