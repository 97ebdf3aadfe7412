import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, createKubeClient, defaultKubeconfigPath, inClusterConnection, loadKubeconfig } from '@boundtoken/client';
import { createTestPki } from '../helpers/pki.ts';
import { sendJson, startHttpsServer } from '../helpers/https-server.ts';

const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'bt-kubeconfig-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

function writeConfig(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : stringify(doc));
  return path;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function configCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return `${err.code}: ${err.message}`;
  }
  return 'no error';
}

test('kubeconfig: data fields, current-context, and a working mTLS connection', async () => {
  const srv = await startHttpsServer(pki, { requestCert: true });
  try {
    const path = writeConfig('data.yaml', {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'admin@test',
      clusters: [{ name: 'test', cluster: { server: srv.url, 'certificate-authority-data': b64(pki.caCert) } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': b64(pki.clientCert), 'client-key-data': b64(pki.clientKey) } }],
      contexts: [{ name: 'admin@test', context: { cluster: 'test', user: 'admin', namespace: 'team-a' } }],
    });
    const conn = loadKubeconfig(path);
    assert.equal(conn.server, srv.url);
    assert.equal(conn.context, 'admin@test');
    assert.equal(conn.namespace, 'team-a');
    srv.handle((_req, res) => sendJson(res, 200, { major: '1', minor: '32' }));
    const client = createKubeClient(conn);
    assert.deepEqual((await client.request('GET', '/version')).body, { major: '1', minor: '32' });
    assert.equal(srv.requests.at(-1)!.clientCN, 'admin');
    client.close();
  } finally {
    await srv.close();
  }
});

test('kubeconfig: file paths relative to its directory, --context, token, tokenFile re-read, TLS options', () => {
  const sub = join(dir, 'rel');
  mkdirSync(join(sub, 'pki'), { recursive: true });
  writeFileSync(join(sub, 'pki', 'ca.crt'), pki.caCert);
  writeFileSync(join(sub, 'pki', 'client.crt'), pki.clientCert);
  writeFileSync(join(sub, 'pki', 'client.key'), pki.clientKey);
  writeFileSync(join(sub, 'token'), 'file-token-1\n');
  const path = join(sub, 'config');
  writeFileSync(
    path,
    stringify({
      'current-context': 'certs',
      clusters: [
        { name: 'a', cluster: { server: 'https://127.0.0.1:6443/', 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'api.test.local' } },
        { name: 'b', cluster: { server: 'https://b.example:443', 'insecure-skip-tls-verify': true } },
      ],
      users: [
        { name: 'certs', user: { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' } },
        { name: 'static', user: { token: 'static-token' } },
        { name: 'rotating', user: { tokenFile: 'token' } },
      ],
      contexts: [
        { name: 'certs', context: { cluster: 'a', user: 'certs' } },
        { name: 'static', context: { cluster: 'b', user: 'static' } },
        { name: 'rotating', context: { cluster: 'b', user: 'rotating' } },
      ],
    }),
  );
  const certs = loadKubeconfig(path);
  assert.equal(certs.server, 'https://127.0.0.1:6443');
  assert.equal(certs.namespace, 'default');
  assert.equal(certs.ca?.toString(), pki.caCert);
  assert.equal(certs.clientCert?.toString(), pki.clientCert);
  assert.equal(certs.clientKey?.toString(), pki.clientKey);
  assert.equal(certs.tlsServerName, 'api.test.local');
  assert.equal(certs.token, undefined);

  const stat = loadKubeconfig(path, { context: 'static' });
  assert.equal(stat.token, 'static-token');
  assert.equal(stat.insecureSkipTLSVerify, true);

  const rot = loadKubeconfig(path, { context: 'rotating' });
  assert.equal(typeof rot.token, 'function');
  assert.equal((rot.token as () => string)(), 'file-token-1');
});

test('kubeconfig errors say what is wrong', () => {
  const cluster = { name: 'c', cluster: { server: 'https://x:6443' } };
  const cases: [string, unknown, string | undefined, RegExp][] = [
    ['missing.yaml', undefined, undefined, /^ERR_CONFIG_READ: cannot read kubeconfig .*missing\.yaml/],
    ['bad.yaml', 'clusters: [unclosed', undefined, /^ERR_CONFIG_INVALID: .* is not valid YAML/],
    ['scalar.yaml', '42', undefined, /^ERR_CONFIG_INVALID: .*the document is not a mapping/],
    ['nocurrent.yaml', { clusters: [cluster] }, undefined, /no context given and no current-context set/],
    ['noctx.yaml', { 'current-context': 'x', clusters: [cluster], contexts: [] }, undefined, /context "x" not found in "contexts"/],
    ['other.yaml', { 'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'c' } }] }, 'y', /context "y" not found/],
    ['nocluster.yaml', { 'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'gone' } }] }, undefined, /cluster "gone" not found/],
    ['noserver.yaml', { 'current-context': 'x', clusters: [{ name: 'c', cluster: {} }], contexts: [{ name: 'x', context: { cluster: 'c' } }] }, undefined, /cluster "c" has no server/],
    ['badserver.yaml', { 'current-context': 'x', clusters: [{ name: 'c', cluster: { server: 'x:6443' } }], contexts: [{ name: 'x', context: { cluster: 'c' } }] }, undefined, /is not an http\(s\) URL/],
    ['exec.yaml', { 'current-context': 'x', clusters: [cluster], users: [{ name: 'u', user: { exec: { command: 'aws' } } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] }, undefined, /user "u" uses "exec", which this client does not support/],
    ['nokey.yaml', { 'current-context': 'x', clusters: [cluster], users: [{ name: 'u', user: { 'client-certificate-data': b64('x') } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] }, undefined, /certificate without a key/],
    ['nocafile.yaml', { 'current-context': 'x', clusters: [{ name: 'c', cluster: { server: 'https://x', 'certificate-authority': 'nope/ca.crt' } }], contexts: [{ name: 'x', context: { cluster: 'c' } }] }, undefined, /^ERR_CONFIG_READ: .*cluster "c" certificate-authority .*nope\/ca\.crt/],
    ['notokenfile.yaml', { 'current-context': 'x', clusters: [cluster], users: [{ name: 'u', user: { tokenFile: 'absent' } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] }, undefined, /^ERR_CONFIG_READ: cannot read token file/],
  ];
  for (const [name, doc, context, expected] of cases) {
    const path = doc === undefined ? join(dir, name) : writeConfig(name, doc);
    assert.match(configCode(() => loadKubeconfig(path, context ? { context } : {})), expected, name);
  }
});

test('defaultKubeconfigPath: first KUBECONFIG entry, else ~/.kube/config', () => {
  assert.equal(defaultKubeconfigPath({ KUBECONFIG: ':/a/one:/b/two' }), '/a/one');
  assert.match(defaultKubeconfigPath({}), /\.kube\/config$/);
});

test('in-cluster: env + service account files, token re-read as it rotates (lazily, as client-go)', () => {
  const sa = join(dir, 'sa');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'tok-1');
  writeFileSync(join(sa, 'ca.crt'), pki.caCert);
  writeFileSync(join(sa, 'namespace'), 'istio-system');
  let now = 1_000_000;
  const errors: Error[] = [];
  const conn = inClusterConnection({
    dir: sa,
    env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    now: () => now,
    onTokenError: (e) => errors.push(e),
  });
  assert.equal(conn.server, 'https://10.96.0.1:443');
  assert.equal(conn.namespace, 'istio-system');
  assert.equal(conn.ca?.toString(), pki.caCert);
  assert.equal(conn.token(), 'tok-1');
  writeFileSync(join(sa, 'token'), 'tok-2\n');
  now += 59_000;
  assert.equal(conn.token(), 'tok-1', 'still cached before a minute');
  now += 1_000;
  assert.equal(conn.token(), 'tok-2');
  writeFileSync(join(sa, 'token'), '   ');
  now += 60_000;
  assert.equal(conn.token(), 'tok-2', 'an empty file keeps the last good token');
  assert.match(errors[0]!.message, /empty/);

  writeFileSync(join(sa, 'token'), 'tok-3');
  const v6 = inClusterConnection({ dir: sa, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' } });
  assert.equal(v6.server, 'https://[fd00::1]:6443');
});

test('in-cluster errors', () => {
  assert.match(configCode(() => inClusterConnection({ dir, env: {} })), /^ERR_CONFIG_NOT_IN_CLUSTER: .*KUBERNETES_SERVICE_HOST/);
  assert.match(
    configCode(() => inClusterConnection({ dir: join(dir, 'nope'), env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' } })),
    /^ERR_CONFIG_READ: cannot read token file/,
  );
});
