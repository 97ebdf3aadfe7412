/**
 * Issue #4 end to end: the token APIs of the real `boundtoken server` process, driven by the real
 * kubectl (1.32 through the dispatcher, which sends TokenRequest and SelfSubjectReview in
 * protobuf; 1.31, which sends JSON with explicit nulls; 1.33) and by @kubernetes/client-node.
 * Tokens are decoded to check their claims, reviewed by the server, and verified offline with the
 * JWKS the server publishes. Also: bound-pod invalidation (deletion, the 60 s leeway after
 * deletionTimestamp, recreation under the same name), who may mint and review, and the
 * forged-token corpus sent to TokenReview.
 *
 * The 60 s deletion leeway is proven here with a real wait: the first test marks a pod for
 * deletion (a finalizer keeps it Terminating) and the last test checks the token at 57 s and
 * 61.5 s past its deletionTimestamp; everything else runs in between.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { buildClaims, createSigner, decodeToken, generateSigningKey, loadSigningKey } from '@boundtoken/token';
import { forgedTokenCorpus } from '@boundtoken/token/testing';
import {
  apiClient,
  cleanup,
  haveKubectl,
  kubectl,
  kubectlFails,
  kubectlOk,
  kubectlVersionBinary,
  mintKubeconfig,
  startServer,
  tempDir,
  tokenKubeconfig,
  waitFor,
  type ApiClient,
  type KubectlOptions,
  type TestServer,
} from './harness.ts';

const NS = 'tok';
const skip = !haveKubectl() && 'kubectl is not installed';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const YEAR = 365 * 24 * 3600;

interface Claims {
  aud?: string[];
  exp: number;
  iat: number;
  nbf: number;
  iss: string;
  jti: string;
  sub: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
    warnafter?: number;
  };
}

interface ReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

const claimsOf = (token: string): Claims => decodeToken(token).payload as unknown as Claims;

const podYaml = (name: string, node: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NS}
${extra}spec:
  serviceAccountName: app
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/app:1.0
`;

describe('issue #4: token APIs against the server process', { skip }, () => {
  let server: TestServer;
  let dir: string;
  let kc: string;
  let home: string;
  let admin: ApiClient;
  let issuer: string;
  const uids: Record<string, string> = {};
  const k = (args: string[], opts: KubectlOptions = {}): Promise<string> => kubectlOk(kc, args, { home, ...opts });
  const uidOf = async (kind: string, name: string, ns: string | undefined = NS): Promise<string> =>
    (await k(['get', kind, name, ...(ns ? ['-n', ns] : []), '-o', 'jsonpath={.metadata.uid}'])).trim();
  /** TokenReview as admin. */
  const review = async (token: string, audiences?: string[]): Promise<ReviewStatus> => {
    const r = await admin.request('/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } },
    });
    assert.equal(r.status, 201, r.body);
    return r.json<{ status: ReviewStatus }>().status;
  };

  // the pod whose deletion is pending for the whole file (the 60 s leeway)
  let held: { token: string; deletionTimestamp: number } | undefined;

  before(async () => {
    server = await startServer();
    kc = server.kubeconfig;
    dir = tempDir('token-e2e');
    home = join(dir, 'home');
    admin = apiClient(kc);
    issuer = JSON.parse(await k(['get', '--raw', '/.well-known/openid-configuration'])).issuer as string;
    await k(['create', 'ns', NS]);
    await Promise.all(['app', 'minter', 'reviewer'].map((sa) => k(['create', 'sa', sa, '-n', NS])));
    await k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Node\nmetadata:\n  name: tn1\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: tn2\n' });
    await k(['apply', '-f', '-'], { input: `${podYaml('p1', 'tn1')}---\n${podYaml('p2', 'tn2')}---\n${podYaml('held', 'tn1', '  finalizers:\n  - e2e.boundtoken.dev/hold\n')}` });
    await k(['create', 'secret', 'generic', 's1', '-n', NS, '--from-literal=a=b']);
    const entries: [string, string, string | undefined][] = [
      ['app', 'sa', NS],
      ['p1', 'pod', NS],
      ['p2', 'pod', NS],
      ['held', 'pod', NS],
      ['s1', 'secret', NS],
      ['tn1', 'node', undefined],
      ['tn2', 'node', undefined],
    ];
    await Promise.all(entries.map(async ([name, kind, ns]) => (uids[name] = await uidOf(kind, name, ns))));
  });
  after(async () => {
    // let the held pod go
    await kubectl(kc, ['patch', 'pod', 'held', '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'], { home }).catch(() => undefined);
    admin?.close();
    await server?.dispose();
    if (dir) cleanup(dir);
  });

  test('a token bound to a pod is still valid right after the pod gets its deletionTimestamp', async () => {
    const token = await k(['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'held']);
    assert.equal((await review(token)).authenticated, true);
    // the pod is bound to tn1, whose kubelet never confirms; the finalizer keeps it Terminating
    assert.equal(await k(['delete', 'pod', 'held', '-n', NS, '--wait=false', '--grace-period=1']), 'pod "held" deleted\n');
    const ts = (await k(['get', 'pod', 'held', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).trim();
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    held = { token, deletionTimestamp: Date.parse(ts) };
    const status = await review(token);
    assert.equal(status.authenticated, true, status.error);
    assert.deepEqual(status.user?.extra?.['authentication.kubernetes.io/pod-name'], ['held']);
    // and after the deletionTimestamp has passed
    await sleep(Math.max(0, held.deletionTimestamp + 1500 - Date.now()));
    assert.equal((await review(token)).authenticated, true);
  });

  test('kubectl create token (1.32, protobuf): defaults, --audience, --duration', async () => {
    const verbose = await kubectl(kc, ['create', 'token', 'app', '-n', NS, '-v=8'], { home });
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, 'kubectl 1.32 sends protobuf here');
    assert.match(verbose.stderr, /User-Agent: kubectl\/v1\.32\./);
    const plain = verbose.stdout;
    assert.doesNotMatch(plain, /\n/, 'kubectl prints the bare token');

    const c = claimsOf(plain);
    const header = decodeToken(plain).header;
    assert.deepEqual(Object.keys(header), ['alg', 'kid']);
    assert.equal(header.alg, 'RS256');
    assert.deepEqual(c.aud, [issuer]);
    assert.equal(c.iss, issuer);
    assert.equal(c.exp - c.iat, 3600);
    assert.equal(c.nbf, c.iat);
    assert.ok(Math.abs(c.iat - Date.now() / 1000) < 30);
    assert.match(c.jti, UUID);
    assert.equal(c.sub, `system:serviceaccount:${NS}:app`);
    assert.deepEqual(c['kubernetes.io'], { namespace: NS, serviceaccount: { name: 'app', uid: uids.app } });
    // keys sorted at every level, as Kubernetes writes them
    assert.deepEqual(Object.keys(c), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);

    const [aud, dur, short] = await Promise.all([
      k(['create', 'token', 'app', '-n', NS, '--audience', 'vault', '--audience', 'https://sts.example.com']),
      k(['create', 'token', 'app', '-n', NS, '--duration', '2h']),
      kubectlFails(kc, ['create', 'token', 'app', '-n', NS, '--duration', '5m'], { home }),
    ]);
    assert.deepEqual(claimsOf(aud).aud, ['vault', 'https://sts.example.com']);
    assert.equal(claimsOf(dur).exp - claimsOf(dur).iat, 7200);
    assert.match(short.stderr, /TokenRequest\.authentication\.k8s\.io "" is invalid: spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);

    // the server accepts what it issued, for the audiences it was issued for only
    const [s1, s2, s3] = await Promise.all([review(plain), review(aud, ['vault']), review(aud)]);
    assert.equal(s1.authenticated, true, s1.error);
    assert.deepEqual(s2.audiences, ['vault']);
    assert.equal(s3.authenticated, undefined);
    assert.equal(s3.error, `token audiences ["vault" "https://sts.example.com"] is invalid for the target audiences ["${issuer}"]`);
  });

  test('kubectl create token --bound-object-kind Pod | Secret | Node', async () => {
    const mint = (kind: string, name: string, extra: string[] = []): Promise<string> =>
      k(['create', 'token', 'app', '-n', NS, '--bound-object-kind', kind, '--bound-object-name', name, ...extra]);
    const [pod, secret, node, pod3607] = await Promise.all([
      mint('Pod', 'p1', ['--bound-object-uid', uids.p1!]),
      mint('Secret', 's1'),
      mint('Node', 'tn1'),
      mint('Pod', 'p1', ['--duration', '3607s']),
    ]);
    const kp = claimsOf(pod)['kubernetes.io'];
    assert.deepEqual(kp.pod, { name: 'p1', uid: uids.p1 });
    assert.deepEqual(kp.node, { name: 'tn1', uid: uids.tn1 }, 'the pod-bound token records its node');
    assert.equal(kp.secret, undefined);
    const ks = claimsOf(secret)['kubernetes.io'];
    assert.deepEqual(ks.secret, { name: 's1', uid: uids.s1 });
    assert.equal(ks.pod, undefined);
    assert.equal(ks.node, undefined);
    const kn = claimsOf(node)['kubernetes.io'];
    assert.deepEqual(kn.node, { name: 'tn1', uid: uids.tn1 });
    assert.equal(kn.pod, undefined);
    // 3607 s pod-bound tokens for the API audiences last a year, with warnafter at 3607 s
    const c3607 = claimsOf(pod3607);
    assert.equal(c3607.exp - c3607.iat, YEAR);
    assert.equal(c3607['kubernetes.io'].warnafter, c3607.iat + 3607);
    assert.equal(claimsOf(pod)['kubernetes.io'].warnafter, undefined);

    for (const [what, token] of [['pod', pod], ['secret', secret], ['node', node], ['pod 3607', pod3607]] as const) {
      const s = await review(token);
      assert.equal(s.authenticated, true, `${what}: ${s.error}`);
    }
    const s = await review(pod);
    assert.deepEqual(s.user?.extra, {
      'authentication.kubernetes.io/credential-id': [`JTI=${claimsOf(pod).jti}`],
      'authentication.kubernetes.io/node-name': ['tn1'],
      'authentication.kubernetes.io/node-uid': [uids.tn1],
      'authentication.kubernetes.io/pod-name': ['p1'],
      'authentication.kubernetes.io/pod-uid': [uids.p1],
    });

    // refusals, with kube-apiserver's words
    const [wrongUid, missing, otherSa] = await Promise.all([
      kubectlFails(kc, ['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'p1', '--bound-object-uid', '00000000-0000-0000-0000-000000000000'], { home }),
      kubectlFails(kc, ['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Secret', '--bound-object-name', 'nope'], { home }),
      kubectlFails(kc, ['create', 'token', 'minter', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'p1'], { home }),
    ]);
    assert.match(wrongUid.stderr, /the UID in the bound object reference \(00000000-0000-0000-0000-000000000000\) does not match the UID in record/);
    assert.match(missing.stderr, /secrets "nope" not found/);
    assert.match(otherSa.stderr, /cannot bind token for serviceaccount "minter" to pod running with different serviceaccount name/);
  });

  test('kubectl create token -o json prints the TokenRequest', async () => {
    const tr = JSON.parse(await k(['create', 'token', 'app', '-n', NS, '--audience', 'vault', '-o', 'json'])) as {
      kind: string;
      apiVersion: string;
      metadata: { name: string; namespace: string; creationTimestamp: string };
      spec: { audiences: string[]; expirationSeconds: number; boundObjectRef?: unknown };
      status: { token: string; expirationTimestamp: string };
    };
    assert.equal(tr.kind, 'TokenRequest');
    assert.equal(tr.apiVersion, 'authentication.k8s.io/v1');
    assert.equal(tr.metadata.name, 'app');
    assert.equal(tr.metadata.namespace, NS);
    // (kubectl prints the unset pointer as null itself; the server's JSON leaves it out)
    assert.deepEqual(tr.spec, { audiences: ['vault'], expirationSeconds: 3600, boundObjectRef: null });
    const c = claimsOf(tr.status.token);
    assert.equal(tr.status.expirationTimestamp, new Date(c.exp * 1000).toISOString().replace('.000Z', 'Z'));
    assert.equal(tr.metadata.creationTimestamp, new Date(c.iat * 1000).toISOString().replace('.000Z', 'Z'));
  });

  test('kubectl 1.31 (JSON with explicit nulls) and 1.33 mint tokens too', async (t) => {
    const k131 = kubectlVersionBinary(31);
    const k133 = kubectlVersionBinary(33);
    if (!k131 || !k133) {
      t.skip(`kubectl 1.31 or 1.33 is not installed next to the dispatcher (${k131 ?? '-'}, ${k133 ?? '-'})`);
      return;
    }
    const [plain31, pod31, node33, whoami31, whoami33] = await Promise.all([
      kubectl(kc, ['create', 'token', 'app', '-n', NS, '-v=8'], { home, binary: k131 }),
      kubectlOk(kc, ['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'p1', '--duration', '1h'], { home, binary: k131 }),
      kubectl(kc, ['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Node', '--bound-object-name', 'tn2', '-v=8'], { home, binary: k133 }),
      kubectlOk(kc, ['auth', 'whoami'], { home, binary: k131 }),
      kubectlOk(kc, ['auth', 'whoami', '-o', 'json'], { home, binary: k133 }),
    ]);
    assert.equal(plain31.code, 0, plain31.stderr);
    // what makes 1.31 different: a JSON body with explicit nulls
    assert.match(plain31.stderr, /Content-Type: application\/json/);
    assert.match(plain31.stderr, /"spec":\{"audiences":null,"expirationSeconds":null,"boundObjectRef":null\}/);
    assert.match(plain31.stderr, /"status":\{"token":"","expirationTimestamp":null\}/);
    assert.equal(claimsOf(plain31.stdout).exp - claimsOf(plain31.stdout).iat, 3600);
    assert.deepEqual(claimsOf(pod31)['kubernetes.io'].pod, { name: 'p1', uid: uids.p1 });
    assert.equal(node33.code, 0, node33.stderr);
    assert.match(node33.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
    assert.deepEqual(claimsOf(node33.stdout)['kubernetes.io'].node, { name: 'tn2', uid: uids.tn2 });
    assert.match(whoami31, /^Username\s+admin$/m);
    assert.equal((JSON.parse(whoami33) as { status: { userInfo: { username: string } } }).status.userInfo.username, 'admin');
    for (const token of [plain31.stdout, pod31, node33.stdout]) assert.equal((await review(token)).authenticated, true);
  });

  test('kubectl create -f tokenreview.yaml -o json', async () => {
    const token = await k(['create', 'token', 'app', '-n', NS, '--audience', 'vault', '--bound-object-kind', 'Pod', '--bound-object-name', 'p1']);
    const yaml = (t: string, auds: string[]): string =>
      `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: ${t}\n  audiences:\n${auds.map((a) => `  - ${a}\n`).join('')}`;
    const ok = JSON.parse(await k(['create', '-f', '-', '-o', 'json'], { input: yaml(token, ['vault']) })) as { kind: string; status: ReviewStatus };
    assert.equal(ok.kind, 'TokenReview');
    assert.equal(ok.status.authenticated, true);
    assert.deepEqual(ok.status.audiences, ['vault']);
    assert.deepEqual(ok.status.user, {
      username: `system:serviceaccount:${NS}:app`,
      uid: uids.app,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [`JTI=${claimsOf(token).jti}`],
        'authentication.kubernetes.io/node-name': ['tn1'],
        'authentication.kubernetes.io/node-uid': [uids.tn1],
        'authentication.kubernetes.io/pod-name': ['p1'],
        'authentication.kubernetes.io/pod-uid': [uids.p1],
      },
    });
    const wrong = JSON.parse(await k(['create', '-f', '-', '-o', 'json'], { input: yaml(token, ['other']) })) as { status: ReviewStatus };
    assert.equal(wrong.status.authenticated, undefined);
    assert.deepEqual(wrong.status.user, {});
    assert.match(wrong.status.error ?? '', /token audiences \["vault"\] is invalid for the target audiences \["other"\]/);
  });

  test('kubectl auth whoami as admin and with --token of a service account', async () => {
    const verbose = await kubectl(kc, ['auth', 'whoami', '-v=8'], { home });
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stderr, /POST https:\/\/\S+\/apis\/authentication\.k8s\.io\/v1\/selfsubjectreviews/);
    assert.match(verbose.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, 'kubectl 1.32 sends SelfSubjectReview in protobuf');
    const asAdmin = verbose.stdout;
    assert.match(asAdmin, /^Username\s+admin$/m);
    assert.match(asAdmin, /^Groups\s+\[system:masters system:authenticated\]$/m);
    const token = await k(['create', 'token', 'app', '-n', NS]);
    // a kubeconfig with no credentials of its own: --token is the only one
    const bare = tokenKubeconfig(kc, undefined, join(dir, 'bare.kubeconfig'));
    const asSa = await kubectlOk(bare, ['auth', 'whoami', '--token', token], { home });
    assert.match(asSa, new RegExp(`^Username\\s+system:serviceaccount:${NS}:app$`, 'm'));
    assert.match(asSa, new RegExp(`^UID\\s+${uids.app}$`, 'm'));
    assert.match(asSa, new RegExp(`^Groups\\s+\\[system:serviceaccounts system:serviceaccounts:${NS} system:authenticated\\]$`, 'm'));
    assert.match(asSa, new RegExp(`^Extra: authentication\\.kubernetes\\.io/credential-id\\s+\\[JTI=${claimsOf(token).jti}\\]$`, 'm'));
  });

  test('kubectl get --raw the OIDC discovery documents; the JWKS verifies issued tokens offline', async () => {
    const [configText, jwksText] = await Promise.all([
      k(['get', '--raw', '/.well-known/openid-configuration']),
      k(['get', '--raw', '/openid/v1/jwks']),
    ]);
    const config = JSON.parse(configText) as Record<string, unknown>;
    assert.deepEqual(Object.keys(config), ['issuer', 'jwks_uri', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']);
    assert.equal(config.issuer, 'https://kubernetes.default.svc.cluster.local');
    assert.equal(config.jwks_uri, `${server.url}/openid/v1/jwks`);
    assert.deepEqual(config.response_types_supported, ['id_token']);
    assert.deepEqual(config.subject_types_supported, ['public']);
    assert.deepEqual(config.id_token_signing_alg_values_supported, ['RS256']);
    const jwks = JSON.parse(jwksText) as { keys: { use: string; kty: string; kid: string; alg: string; n: string; e: string }[] };
    assert.equal(jwks.keys.length, 1);
    const [jwk] = jwks.keys;
    assert.deepEqual(Object.keys(jwk!), ['use', 'kty', 'kid', 'alg', 'n', 'e']);
    assert.equal(jwk!.use, 'sig');

    const token = await k(['create', 'token', 'app', '-n', NS]);
    const { header, signingInput, signature } = decodeToken(token);
    assert.equal(header.kid, jwk!.kid);
    const key = createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' });
    assert.ok(cryptoVerify('sha256', Buffer.from(signingInput), key, signature), 'the published key verifies the token');
    assert.ok(!cryptoVerify('sha256', Buffer.from(`${signingInput}x`), key, signature));

    // service accounts may read discovery (system:service-account-issuer-discovery); anonymous may not
    const saKc = tokenKubeconfig(kc, token, join(dir, 'app.kubeconfig'));
    assert.equal(await kubectlOk(saKc, ['get', '--raw', '/openid/v1/jwks'], { home }), jwksText);
    const anonymous = apiClient(tokenKubeconfig(kc, undefined, join(dir, 'anon.kubeconfig')));
    try {
      assert.equal((await anonymous.request('/openid/v1/jwks')).status, 401);
    } finally {
      anonymous.close();
    }
  });

  test('@kubernetes/client-node: createNamespacedServiceAccountToken and createTokenReview', async () => {
    const kcfg = new k8s.KubeConfig();
    kcfg.loadFromFile(kc);
    const core = kcfg.makeApiClient(k8s.CoreV1Api);
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'app',
      namespace: NS,
      body: { spec: { audiences: ['vault'], expirationSeconds: 900, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p2' } } },
    });
    assert.ok(tr.status?.expirationTimestamp instanceof Date && !Number.isNaN(tr.status.expirationTimestamp.getTime()));
    const token = tr.status!.token;
    const c = claimsOf(token);
    assert.equal(c.exp - c.iat, 900);
    assert.equal(tr.status!.expirationTimestamp.getTime(), c.exp * 1000);
    assert.deepEqual(c['kubernetes.io'].pod, { name: 'p2', uid: uids.p2 });
    assert.deepEqual(c['kubernetes.io'].node, { name: 'tn2', uid: uids.tn2 });

    const authn = kcfg.makeApiClient(k8s.AuthenticationV1Api);
    const ok = await authn.createTokenReview({ body: { spec: { token, audiences: ['vault'] } } });
    assert.equal(ok.status?.authenticated, true);
    assert.equal(ok.status?.user?.username, `system:serviceaccount:${NS}:app`);
    assert.deepEqual(ok.status?.audiences, ['vault']);
    const bad = await authn.createTokenReview({ body: { spec: { token: `${token.slice(0, -4)}AAAA` } } });
    assert.equal(bad.status?.authenticated, undefined);
    assert.ok(bad.status?.error);

    // client-node with a service account's token: refused without RBAC
    const minterToken = await k(['create', 'token', 'minter', '-n', NS]);
    const asMinter = new k8s.KubeConfig();
    asMinter.loadFromFile(tokenKubeconfig(kc, minterToken, join(dir, 'minter-cn.kubeconfig')));
    await assert.rejects(
      asMinter.makeApiClient(k8s.AuthenticationV1Api).createTokenReview({ body: { spec: { token } } }),
      (err: unknown) => err instanceof k8s.ApiException && err.code === 403,
    );
    await assert.rejects(
      asMinter.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({ name: 'app', namespace: NS, body: { spec: { audiences: [] } } }),
      (err: unknown) => err instanceof k8s.ApiException && err.code === 403,
    );
  });

  test('a pod-bound token stops authenticating at once when the pod is gone, and when it is recreated (new UID)', async () => {
    await k(['apply', '-f', '-'], { input: podYaml('ephemeral', 'tn1') });
    const oldUid = await uidOf('pod', 'ephemeral');
    const token = await k(['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'ephemeral']);
    assert.equal((await review(token)).authenticated, true); // now cached as a success for up to 10 s
    assert.match(await k(['delete', 'pod', 'ephemeral', '-n', NS, '--grace-period=0', '--force']), /pod "ephemeral" force deleted/);
    const gone = await review(token);
    assert.equal(gone.authenticated, undefined);
    assert.equal(gone.error, 'service account token has been invalidated');

    await k(['apply', '-f', '-'], { input: podYaml('ephemeral', 'tn1') });
    const newUid = await uidOf('pod', 'ephemeral');
    assert.notEqual(newUid, oldUid);
    const recreated = await review(token);
    assert.equal(recreated.authenticated, undefined);
    assert.equal(recreated.error, `pod UID (${newUid}) does not match service account pod ref claim (${oldUid})`);
    const fresh = await k(['create', 'token', 'app', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'ephemeral']);
    assert.equal((await review(fresh)).authenticated, true);
    // and the pod's own deletion through a graceful delete with a short grace period
    await k(['delete', 'pod', 'ephemeral', '-n', NS, '--grace-period=1']);
    assert.equal((await review(fresh)).error, 'service account token has been invalidated');
  });

  test('who may mint: a node only for its pods, bound to them; a service account only with RBAC', async () => {
    const n1 = await mintKubeconfig(server, 'system:node:tn1', ['system:nodes'], join(dir, 'tn1.kubeconfig'));
    const asNode = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => kubectl(n1, ['create', 'token', '-n', NS, ...args], { home });
    const [own, unbound, otherNodesPod, otherSa, secret, noUid] = await Promise.all([
      asNode(['app', '--bound-object-kind', 'Pod', '--bound-object-name', 'p1', '--bound-object-uid', uids.p1!, '--audience', 'vault']),
      asNode(['app']),
      asNode(['app', '--bound-object-kind', 'Pod', '--bound-object-name', 'p2', '--bound-object-uid', uids.p2!]),
      asNode(['minter', '--bound-object-kind', 'Pod', '--bound-object-name', 'p1', '--bound-object-uid', uids.p1!]),
      asNode(['app', '--bound-object-kind', 'Secret', '--bound-object-name', 's1']),
      asNode(['app', '--bound-object-kind', 'Pod', '--bound-object-name', 'p1']),
    ]);
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(claimsOf(own.stdout)['kubernetes.io'].pod, { name: 'p1', uid: uids.p1 });
    assert.match(unbound.stderr, /serviceaccounts "app" is forbidden: node requested token not bound to a pod/);
    assert.match(otherNodesPod.stderr, /serviceaccounts "app" is forbidden: node requested token bound to a pod scheduled on a different node/);
    assert.match(otherSa.stderr, /serviceaccounts "minter" is forbidden: User "system:node:tn1" cannot create resource "serviceaccounts\/token" in API group "" in the namespace "tok": no relationship found between node 'tn1' and this object/);
    assert.match(secret.stderr, /forbidden: node requested token not bound to a pod/);
    assert.match(noUid.stderr, /forbidden: node requested token with a pod binding without a uid/);

    // a service account: nothing, then exactly what a Role grants
    const minterKc = tokenKubeconfig(kc, await k(['create', 'token', 'minter', '-n', NS]), join(dir, 'minter.kubeconfig'));
    const asMinter = (sa: string): Promise<{ code: number; stdout: string; stderr: string }> => kubectl(minterKc, ['create', 'token', sa, '-n', NS], { home });
    assert.match((await asMinter('app')).stderr, /serviceaccounts "app" is forbidden: User "system:serviceaccount:tok:minter" cannot create resource "serviceaccounts\/token" in API group "" in the namespace "tok"/);
    await k(['create', 'role', 'mint-app', '-n', NS, '--verb=create', '--resource=serviceaccounts/token', '--resource-name=app']);
    await k(['create', 'rolebinding', 'mint-app', '-n', NS, '--role=mint-app', `--serviceaccount=${NS}:minter`]);
    const [app, other] = await Promise.all([asMinter('app'), asMinter('reviewer')]);
    assert.equal(app.code, 0, app.stderr);
    assert.equal(claimsOf(app.stdout).sub, `system:serviceaccount:${NS}:app`);
    assert.match(other.stderr, /serviceaccounts "reviewer" is forbidden/);
  });

  test('who may review: TokenReview only with create tokenreviews (system:auth-delegator)', async () => {
    const token = await k(['create', 'token', 'app', '-n', NS]);
    const reviewerKc = tokenKubeconfig(kc, await k(['create', 'token', 'reviewer', '-n', NS]), join(dir, 'reviewer.kubeconfig'));
    const input = `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: ${token}\n`;
    const denied = await kubectlFails(reviewerKc, ['create', '-f', '-', '-o', 'json'], { home, input });
    assert.match(denied.stderr, /tokenreviews\.authentication\.k8s\.io is forbidden: User "system:serviceaccount:tok:reviewer" cannot create resource "tokenreviews" in API group "authentication\.k8s\.io" at the cluster scope/);
    await k(['create', 'clusterrolebinding', 'tok-reviewer', '--clusterrole=system:auth-delegator', `--serviceaccount=${NS}:reviewer`]);
    const allowed = JSON.parse(await kubectlOk(reviewerKc, ['create', '-f', '-', '-o', 'json'], { home, input })) as { status: ReviewStatus };
    assert.equal(allowed.status.authenticated, true);
    assert.equal(allowed.status.user?.username, `system:serviceaccount:${NS}:app`);
    // nodes may review (the kubelet authenticates its own API's callers that way): the Node
    // authorizer's static rules include create tokenreviews, as in Kubernetes
    const n2 = await mintKubeconfig(server, 'system:node:tn2', ['system:nodes'], join(dir, 'tn2.kubeconfig'));
    assert.equal((JSON.parse(await kubectlOk(n2, ['create', '-f', '-', '-o', 'json'], { home, input })) as { status: ReviewStatus }).status.authenticated, true);
    // a user without the grant may not
    const jane = await mintKubeconfig(server, 'jane', [], join(dir, 'jane.kubeconfig'));
    assert.match(
      (await kubectlFails(jane, ['create', '-f', '-'], { home, input })).stderr,
      /tokenreviews\.authentication\.k8s\.io is forbidden: User "jane" cannot create resource "tokenreviews" in API group "authentication\.k8s\.io" at the cluster scope/,
    );
  });

  test('the forged-token corpus: TokenReview says authenticated false to every one, and the server is unharmed', async () => {
    const key = loadSigningKey(readFileSync(join(server.dataDir, 'pki', 'sa.key')));
    const otherKey = generateSigningKey({ type: 'rsa' });
    const audience = 'https://corpus.example.com';

    // control: a well-formed token signed with the same key for real objects is accepted, so the
    // refusals below are about each token's defect
    const nowSeconds = (): number => Math.floor(Date.now() / 1000);
    const control = createSigner(key).sign(
      buildClaims({ issuer, audiences: [audience], serviceAccount: { namespace: NS, name: 'app', uid: uids.app! }, expirationSeconds: 600 }, nowSeconds()),
    );
    assert.equal((await review(control, [audience])).authenticated, true);

    // The corpus is built for a verifier clock `now`; its nbf/iat cases sit 1 s past the 60 s
    // leeway, so start right after a second begins and send everything at once.
    await sleep(1000 - (Date.now() % 1000) + 5);
    const now = nowSeconds();
    const corpus = forgedTokenCorpus({ key, otherKey, issuer, audience, now });
    assert.ok(corpus.length >= 30);
    const results = await Promise.all(
      corpus.map(async (c) => {
        if (c.token === '') return undefined; // below
        const status = await review(c.token, [audience]);
        return { status, inTime: Date.now() < (now + 1) * 1000 };
      }),
    );
    // the corpus claims name default/default with made-up uids: a token that got past its defect
    // would fail on those instead; none may (the clock-edge cases: when answered within the second)
    const lookupError = /service account UID|serviceaccounts "default" not found|has been invalidated|pod UID/;
    const clockEdge = new Set(['ERR_TOKEN_NOT_YET_VALID', 'ERR_TOKEN_ISSUED_IN_FUTURE']);
    corpus.forEach((c, i) => {
      const r = results[i];
      if (!r) return;
      assert.notEqual(r.status.authenticated, true, c.name);
      assert.deepEqual(r.status.user ?? {}, {}, c.name);
      // TokenReview reads the token as an Authorization header: trimmed, so the trailing newline's
      // token is the well-formed one, refused by the lookup of its made-up objects; a space before
      // it makes no bearer token at all (no error)
      if (c.name === 'trailing newline') return assert.match(r.status.error ?? '', lookupError, c.name);
      if (c.name === 'leading space') return assert.equal(r.status.error, undefined, c.name);
      // a token that does not parse as a JWS is nobody's (jwt.go)
      if (c.expectedCode === 'ERR_TOKEN_MALFORMED' || c.expectedCode === 'ERR_TOKEN_TOO_LARGE') assert.equal(r.status.error, 'invalid bearer token', c.name);
      if (!clockEdge.has(c.expectedCode) || r.inTime) assert.doesNotMatch(r.status.error ?? '', lookupError, c.name);
    });
    // the empty token is a 400 from TokenReview itself
    const empty = await admin.request('/apis/authentication.k8s.io/v1/tokenreviews', { body: { spec: { token: '' } } });
    assert.equal(empty.status, 400);
    assert.match(empty.body, /token is required for TokenReview in authentication/);

    // as bearer tokens on ordinary requests: 401 (431 for the 1 MiB one: it does not fit in a header)
    const bare = apiClient(tokenKubeconfig(kc, undefined, join(dir, 'corpus.kubeconfig')));
    try {
      for (const c of corpus) {
        if (c.token === '' || /\s/.test(c.token)) continue; // not sendable as one header value
        if (c.token.length > 16 * 1024) {
          // past the HTTP header limit: 431, or the socket is closed mid-request (its own connection)
          const once = apiClient(tokenKubeconfig(kc, undefined, join(dir, 'corpus-large.kubeconfig')));
          try {
            const r = await once.request('/api/v1/namespaces', { token: c.token }).catch(() => ({ status: 431 }));
            assert.equal(r.status, 431, c.name);
          } finally {
            once.close();
          }
          continue;
        }
        const r = await bare.request('/api/v1/namespaces', { token: c.token });
        assert.equal(r.status, 401, c.name);
      }
    } finally {
      bare.close();
    }
    const ready = await admin.request('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(server.proc.exitCode, null);
    assert.equal((await review(control, [audience])).authenticated, true);
  });

  test('a token bound to a pod pending deletion: valid until 60 s past deletionTimestamp, not after', async () => {
    assert.ok(held, 'the first test marked the pod for deletion');
    const { token, deletionTimestamp } = held;
    assert.ok((await k(['get', 'pod', 'held', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).trim(), 'still Terminating');
    await sleep(Math.max(0, deletionTimestamp + 57_000 - Date.now()));
    const at57 = await review(token);
    assert.equal(at57.authenticated, true, `57 s after deletionTimestamp: ${at57.error}`);
    await sleep(Math.max(0, deletionTimestamp + 61_500 - Date.now()));
    const at61 = await review(token);
    assert.equal(at61.authenticated, undefined, '61.5 s after deletionTimestamp');
    assert.equal(at61.error, 'service account token has been invalidated');
    // once the finalizer goes, so does the pod
    await k(['patch', 'pod', 'held', '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await waitFor('the held pod to be gone', async () => (await kubectl(kc, ['get', 'pod', 'held', '-n', NS], { home })).code === 1);
  });
});
