/**
 * Issue #3 end to end: the real `boundtoken server` process, driven by the real kubectl (the
 * gcloud dispatcher, which picks kubectl 1.32 from our /version) with the admin.kubeconfig it
 * writes, by @kubernetes/client-node 1.x, and by identities that must be refused (401 / 403).
 * Nothing here passes `--validate=false`: kubectl validates against our OpenAPI.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { bootstrapPki } from '@boundtoken/server';
import {
  apiClient,
  cleanup,
  haveKubectl,
  kubectl,
  kubectlFails,
  kubectlOk,
  mintKubeconfig,
  readKubeconfig,
  spawnKubectl,
  startServer,
  tempDir,
  tokenKubeconfig,
  waitFor,
  writeKubeconfig,
  type TestServer,
} from './harness.ts';

const NS = 'e2e';
const skip = !haveKubectl() && 'kubectl is not installed';

const nodesYaml = ['e2e-n1', 'e2e-n2']
  .map((n) => `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${n}\n  labels:\n    kubernetes.io/hostname: ${n}\n`)
  .join('---\n');

/** A pod bound to a node, with a projected token volume (the thing this project is about). */
function podYaml(name: string, opts: { image?: string; node?: string; labels?: Record<string, string> } = {}): string {
  const labels = Object.entries(opts.labels ?? {}).map(([k, v]) => `    ${k}: "${v}"\n`).join('');
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NS}
${labels ? `  labels:\n${labels}` : ''}spec:
  serviceAccountName: app
${opts.node ? `  nodeName: ${opts.node}\n` : ''}  containers:
  - name: main
    image: ${opts.image ?? 'registry.example/app:1.0'}
    volumeMounts:
    - name: vault-token
      mountPath: /var/run/secrets/vault
      readOnly: true
  volumes:
  - name: vault-token
    projected:
      sources:
      - serviceAccountToken:
          audience: vault
          expirationSeconds: 7200
          path: token
`;
}

describe('issue #3: kubectl and client-node against the server process', { skip }, () => {
  let server: TestServer;
  let dir: string;
  let kc: string;
  let home: string;
  const k = (args: string[], input?: string): Promise<string> => kubectlOk(kc, args, { home, ...(input !== undefined ? { input } : {}) });

  before(async () => {
    server = await startServer();
    kc = server.kubeconfig;
    dir = tempDir('api-e2e');
    home = join(dir, 'home');
  });
  after(async () => {
    await server?.dispose();
    if (dir) cleanup(dir);
  });

  test('get ns lists the system namespaces as Active', async () => {
    const out = await k(['get', 'ns']);
    assert.match(out, /^NAME\s+STATUS\s+AGE$/m);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(out, new RegExp(`^${ns}\\s+Active\\s+\\d+s$`, 'm'));
  });

  test('create ns and create sa; the default service account appears', async () => {
    assert.equal(await k(['create', 'ns', NS]), `namespace/${NS} created\n`);
    assert.equal(await k(['create', 'sa', 'app', '-n', NS]), 'serviceaccount/app created\n');
    const out = await waitFor('the default service account', async () => {
      const o = await k(['get', 'sa', '-n', NS]);
      return /^default\s/m.test(o) && o;
    });
    assert.match(out, /^NAME\s+SECRETS\s+AGE$/m);
    assert.match(out, /^app\s+0\s+\d+s$/m);
    // a second create is refused by the server, with its Status message
    const again = await kubectlFails(kc, ['create', 'ns', NS], { home });
    assert.match(again.stderr, /Error from server \(AlreadyExists\): namespaces "e2e" already exists/);
    // nodes for the pods below (nobody heartbeats for them: they never become Ready)
    assert.equal(await k(['apply', '-f', '-'], nodesYaml), 'node/e2e-n1 created\nnode/e2e-n2 created\n');
  });

  test('apply -f pod.yaml twice (created, configured), then --server-side', async () => {
    assert.equal(await k(['apply', '-f', '-'], podYaml('web', { node: 'e2e-n1' })), 'pod/web created\n');
    assert.equal(await k(['apply', '-f', '-'], podYaml('web', { node: 'e2e-n1', image: 'registry.example/app:1.1' })), 'pod/web configured\n');
    const applied = JSON.parse(await k(['get', 'pod', 'web', '-n', NS, '-o', 'json'])) as k8s.V1Pod;
    assert.equal(applied.spec!.containers[0]!.image, 'registry.example/app:1.1');
    const lastApplied = JSON.parse(applied.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration']!) as k8s.V1Pod;
    assert.equal(lastApplied.spec!.containers[0]!.image, 'registry.example/app:1.1');
    // the ServiceAccount admission plugin added the kube-api-access volume next to ours
    const volumes = applied.spec!.volumes!.map((v) => v.name);
    assert.ok(volumes.includes('vault-token'));
    assert.ok(volumes.some((v) => /^kube-api-access-[a-z0-9]{5}$/.test(v)), volumes.join(','));

    assert.equal(
      await k(['apply', '--server-side', '-f', '-'], podYaml('web', { node: 'e2e-n1', image: 'registry.example/app:1.1', labels: { tier: 'web' } })),
      'pod/web serverside-applied\n',
    );
    const ssa = JSON.parse(await k(['get', 'pod', 'web', '-n', NS, '-o', 'json', '--show-managed-fields'])) as k8s.V1Pod;
    assert.equal(ssa.metadata!.labels!.tier, 'web');
    const managers = ssa.metadata!.managedFields!.map((m) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes('kubectl/Apply'), managers.join(','));
  });

  test('get pods -o wide prints the server-side table columns', async () => {
    const out = await k(['get', 'pods', '-n', NS, '-o', 'wide']);
    const [header, ...rows] = out.trimEnd().split('\n');
    assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /^web\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+e2e-n1\s+<none>\s+<none>$/);
    // -o name and -o jsonpath go through the same list
    assert.equal(await k(['get', 'pods', '-n', NS, '-o', 'name']), 'pod/web\n');
  });

  test('get pods -w streams added, modified and deleted pods; delete pod removes it', async () => {
    const watch = spawnKubectl(kc, ['get', 'pods', '-n', NS, '-w', '--output-watch-events'], { home });
    try {
      await waitFor('the initial list in the watch', () => /^ADDED\s+web\s/m.test(watch.stdout()), 15_000);
      assert.equal(await k(['apply', '-f', '-'], podYaml('watched')), 'pod/watched created\n');
      await waitFor(`the watch to show the new pod (got: ${watch.stdout()})`, () => /^ADDED\s+watched\s+0\/1\s+Pending\s/m.test(watch.stdout()), 15_000);
      // a change to an existing pod (the scheduler's PodScheduled condition may add others)
      const before = (watch.stdout().match(/^MODIFIED\s+web\s/gm) ?? []).length;
      await k(['label', 'pod', 'web', '-n', NS, 'watched=yes']);
      await waitFor('the watch to show the change', () => (watch.stdout().match(/^MODIFIED\s+web\s/gm) ?? []).length > before, 15_000);
      // not bound to a node: deleted at once (no kubelet to wait for)
      assert.equal(await k(['delete', 'pod', 'watched', '-n', NS]), 'pod "watched" deleted\n');
      await waitFor('the watch to show the deletion', () => /^DELETED\s+watched\s/m.test(watch.stdout()), 15_000);
      assert.equal(watch.stderr(), '');
    } finally {
      await watch.stop();
    }
    const gone = await kubectlFails(kc, ['get', 'pod', 'watched', '-n', NS], { home });
    assert.match(gone.stderr, /Error from server \(NotFound\): pods "watched" not found/);
  });

  test('explain pod.spec.volumes.projected.sources.serviceAccountToken', async () => {
    const out = await k(['explain', 'pod.spec.volumes.projected.sources.serviceAccountToken']);
    assert.match(out, /^KIND:\s+Pod$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    assert.match(out, /^FIELD: serviceAccountToken <ServiceAccountTokenProjection>$/m);
    for (const field of ['audience\t<string>', 'expirationSeconds\t<integer>', 'path\t<string> -required-']) assert.ok(out.includes(field), `${field} in:\n${out}`);
  });

  test('create clusterrolebinding to system:auth-delegator; auth can-i answers as RBAC says', async () => {
    const as = ['--as', `system:serviceaccount:${NS}:app`];
    const canI = async (args: string[], extra: string[] = as): Promise<string> => {
      const r = await kubectl(kc, ['auth', 'can-i', ...args, ...extra], { home });
      assert.equal(r.code, r.stdout === 'yes\n' ? 0 : 1, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(await canI(['create', 'tokenreviews.authentication.k8s.io']), 'no');
    assert.equal(
      await k(['create', 'clusterrolebinding', 'e2e-delegator', '--clusterrole=system:auth-delegator', `--serviceaccount=${NS}:app`]),
      'clusterrolebinding.rbac.authorization.k8s.io/e2e-delegator created\n',
    );
    const [reviews, sars, pods, secrets] = await Promise.all([
      canI(['create', 'tokenreviews.authentication.k8s.io']),
      canI(['create', 'subjectaccessreviews.authorization.k8s.io']),
      canI(['list', 'pods', '-n', NS]),
      canI(['get', 'secrets', '-n', NS]),
    ]);
    assert.deepEqual({ reviews, sars, pods, secrets }, { reviews: 'yes', sars: 'yes', pods: 'no', secrets: 'no' });
    // the same questions asked by the service account itself, with its own token
    const saToken = await k(['create', 'token', 'app', '-n', NS]);
    const saKc = tokenKubeconfig(kc, saToken, join(dir, 'app.kubeconfig'));
    const self = (args: string[]): Promise<string> => kubectl(saKc, ['auth', 'can-i', ...args], { home }).then((r) => r.stdout.trim());
    assert.deepEqual(await Promise.all([self(['create', 'tokenreviews.authentication.k8s.io']), self(['delete', 'nodes'])]), ['yes', 'no']);
  });

  test('@kubernetes/client-node lists and watches pods through its informer', async () => {
    const kcfg = new k8s.KubeConfig();
    kcfg.loadFromFile(kc);
    const core = kcfg.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: NS });
    assert.deepEqual(list.items.map((p) => p.metadata?.name), ['web']);
    assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/);

    const informer = k8s.makeInformer(kcfg, `/api/v1/namespaces/${NS}/pods`, () => core.listNamespacedPod({ namespace: NS }));
    const events: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (p) => events.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => events.push(`update ${p.metadata?.name} ${p.metadata?.labels?.step ?? ''}`));
    informer.on('delete', (p) => events.push(`delete ${p.metadata?.name}`));
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    try {
      await waitFor('the informer list', () => events.includes('add web'));
      assert.equal(informer.get('web', NS)?.spec?.nodeName, 'e2e-n1');
      await k(['apply', '-f', '-'], podYaml('informed'));
      await waitFor('the informer to see the new pod', () => events.includes('add informed'));
      await k(['label', 'pod', 'informed', '-n', NS, 'step=2']);
      await waitFor('the informer to see the update', () => events.includes('update informed 2'));
      assert.equal(informer.get('informed', NS)?.metadata?.labels?.step, '2');
      await k(['delete', 'pod', 'informed', '-n', NS]);
      await waitFor('the informer to see the deletion', () => events.includes('delete informed'));
      assert.equal(informer.get('informed', NS), undefined);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });

  test('no credentials or bad credentials: 401; a user without rights: 403', async () => {
    const bogus = tokenKubeconfig(kc, 'not-a-token', join(dir, 'bogus.kubeconfig'));
    const foreignDir = tempDir('foreign-ca');
    try {
      // a client certificate from another CA (another server's) proves nothing here
      await bootstrapPki({ dataDir: foreignDir });
      const foreignCreds = readKubeconfig(await mintKubeconfig({ dataDir: foreignDir, url: server.url }, 'admin', ['system:masters'], join(dir, 'foreign-ca.kubeconfig')));
      const foreign = writeKubeconfig(join(dir, 'foreign.kubeconfig'), { ...foreignCreds, caPem: readKubeconfig(kc).caPem });
      const jane = await mintKubeconfig(server, 'jane', ['developers'], join(dir, 'jane.kubeconfig'));
      const [b, f, j] = await Promise.all([
        kubectlFails(bogus, ['get', 'pods', '-n', NS], { home }),
        kubectlFails(foreign, ['get', 'pods', '-n', NS], { home }),
        kubectlFails(jane, ['get', 'pods', '-n', NS], { home }),
      ]);
      // (kubectl words it from the failed request: discovery's or the list's)
      for (const r of [b, f]) assert.match(r.stderr, /error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
      assert.match(j.stderr, /Error from server \(Forbidden\): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "e2e"/);

      // on the wire: Status bodies with the Kubernetes reason and code; no credentials at all is 401 too
      const unauthorized = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
      const clients = { none: apiClient(bogus), foreign: apiClient(foreign), jane: apiClient(jane) };
      try {
        for (const [name, r] of [
          ['no credentials', await clients.none.request(`/api/v1/namespaces/${NS}/pods`, { token: null })],
          ['a bogus token', await clients.none.request(`/api/v1/namespaces/${NS}/pods`)],
          ['a foreign certificate', await clients.foreign.request(`/api/v1/namespaces/${NS}/pods`)],
          ['an empty bearer token', await clients.none.request('/api', { token: null, headers: { Authorization: 'Bearer ' } })],
        ] as const) {
          assert.equal(r.status, 401, name);
          assert.deepEqual(r.json(), unauthorized, name);
        }
        const r403 = await clients.jane.request(`/api/v1/namespaces/${NS}/secrets`);
        assert.equal(r403.status, 403);
        assert.deepEqual(r403.json(), {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "e2e"',
          reason: 'Forbidden',
          details: { kind: 'secrets' },
          code: 403,
        });
      } finally {
        for (const c of Object.values(clients)) c.close();
      }
    } finally {
      cleanup(foreignDir);
    }
  });

  test("a node's certificate reads the pods bound to it, not another node's", async () => {
    await k(['apply', '-f', '-'], podYaml('elsewhere', { node: 'e2e-n2' }));
    const n1 = await mintKubeconfig(server, 'system:node:e2e-n1', ['system:nodes'], join(dir, 'n1.kubeconfig'));
    const [own, other, ownList, otherList] = await Promise.all([
      kubectl(n1, ['get', 'pod', 'web', '-n', NS, '-o', 'name'], { home }),
      kubectl(n1, ['get', 'pod', 'elsewhere', '-n', NS, '-o', 'name'], { home }),
      kubectl(n1, ['get', 'pods', '-A', '--field-selector', 'spec.nodeName=e2e-n1', '-o', 'name'], { home }),
      kubectl(n1, ['get', 'pods', '-A', '--field-selector', 'spec.nodeName=e2e-n2', '-o', 'name'], { home }),
    ]);
    assert.equal(own.code, 0, own.stderr);
    assert.equal(own.stdout, 'pod/web\n');
    assert.equal(other.code, 1);
    assert.match(other.stderr, /Error from server \(Forbidden\): pods "elsewhere" is forbidden: User "system:node:e2e-n1" cannot get resource "pods" in API group "" in the namespace "e2e"/);
    assert.equal(ownList.code, 0, ownList.stderr);
    assert.equal(ownList.stdout, 'pod/web\n');
    assert.equal(otherList.code, 1);
    assert.match(otherList.stderr, /Error from server \(Forbidden\): pods is forbidden: User "system:node:e2e-n1" cannot list resource "pods"/);
  });
});
