/**
 * ServiceAccount admission (reference/k8s-server.md §7), the default service account and
 * kube-root-ca.crt controllers, and who may mint tokens or review them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../support/http.js';
import { nodeManifest, podManifest, startTestServer, waitFor, type TestServer } from '../support/server.js';

const MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

let ts: TestServer;
let admin: Client;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
});
after(() => ts?.close());

async function createPod(ns: string, body: object): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, body);
  assert.equal(res.status, 201, res.text);
  return res.json();
}

describe('ServiceAccount admission', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('saadm');
  });

  test('the default service account and the kube-api-access volume, mounted in every container', async () => {
    const pod = await createPod(ns, {
      metadata: { name: 'p' },
      spec: {
        schedulerName: 'nobody',
        initContainers: [{ name: 'init', image: 'busybox:1' }],
        containers: [{ name: 'a', image: 'app:1' }, { name: 'b', image: 'app:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    });
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.serviceAccount, 'default');
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    assert.match(volume.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(volume.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    const mount = { name: volume.name, readOnly: true, mountPath: MOUNT };
    assert.deepEqual(pod.spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [mount]);
    assert.deepEqual(pod.spec.containers[1].volumeMounts, [{ name: 'data', mountPath: '/data' }, mount]);
  });

  test('a container that already mounts the path is left alone; an existing kube-api-access volume is reused', async () => {
    const pod = await createPod(ns, {
      metadata: { name: 'own-mount' },
      spec: {
        schedulerName: 'nobody',
        containers: [
          { name: 'a', image: 'app:1', volumeMounts: [{ name: 'mine', mountPath: MOUNT }] },
          { name: 'b', image: 'app:1' },
        ],
        volumes: [{ name: 'mine', emptyDir: {} }, { name: 'kube-api-access-zzzzz', emptyDir: {} }],
      },
    });
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [{ name: 'mine', mountPath: MOUNT }]);
    assert.deepEqual(pod.spec.containers[1].volumeMounts, [{ name: 'kube-api-access-zzzzz', readOnly: true, mountPath: MOUNT }]);
    assert.equal(pod.spec.volumes.filter((v: { name: string }) => v.name.startsWith('kube-api-access-')).length, 1);
  });

  test('automountServiceAccountToken: the pod wins, then the service account, else true', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'quiet' }, automountServiceAccountToken: false });
    const hasVolume = (pod: { spec: { volumes?: { name: string }[] } }): boolean => (pod.spec.volumes ?? []).some((v) => v.name.startsWith('kube-api-access-'));
    const cases: [string, object, boolean][] = [
      ['pod false', { automountServiceAccountToken: false }, false],
      ['sa false', { serviceAccountName: 'quiet' }, false],
      ['pod true over sa false', { serviceAccountName: 'quiet', automountServiceAccountToken: true }, true],
      ['neither', {}, true],
    ];
    for (const [i, [what, spec, want]] of cases.entries()) {
      const pod = await createPod(ns, { metadata: { name: `auto-${i}` }, spec: { schedulerName: 'nobody', containers: [{ name: 'a', image: 'x' }], ...spec } });
      assert.equal(hasVolume(pod), want, what);
      assert.equal(pod.spec.containers[0].volumeMounts === undefined, !want, what);
    }
  });

  test('image pull secrets come from the service account when the pod has none', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'puller' }, imagePullSecrets: [{ name: 'registry-creds' }] });
    const inherits = await createPod(ns, { metadata: { name: 'pull-1' }, spec: { serviceAccountName: 'puller', schedulerName: 'nobody', containers: [{ name: 'a', image: 'x' }] } });
    assert.deepEqual(inherits.spec.imagePullSecrets, [{ name: 'registry-creds' }]);
    const own = await createPod(ns, { metadata: { name: 'pull-2' }, spec: { serviceAccountName: 'puller', schedulerName: 'nobody', imagePullSecrets: [{ name: 'mine' }], containers: [{ name: 'a', image: 'x' }] } });
    assert.deepEqual(own.spec.imagePullSecrets, [{ name: 'mine' }]);
  });

  test('a service account that does not exist: 403, nothing stored', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('orphan', { serviceAccountName: 'nobody' }));
    assert.equal(res.status, 403);
    assert.equal(res.json().message, `pods "orphan" is forbidden: error looking up service account ${ns}/nobody: serviceaccount "nobody" not found`);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/orphan`)).status, 404);
  });

  test('a mirror pod may not use a service account and gets no token volume', async () => {
    const refused = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('mirror-sa', { serviceAccountName: 'default', metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } } }));
    assert.equal(refused.status, 403);
    assert.match(refused.json().message, /a mirror pod may not reference service accounts/);
    const mirror = await createPod(ns, podManifest('mirror', { nodeName: `mirror-node-${process.pid}`, metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } } }));
    assert.equal(mirror.spec.serviceAccountName, undefined);
    assert.equal(mirror.spec.volumes, undefined);
  });
});

describe('ServiceAccount admission: the deprecated spec.serviceAccount', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('sadep');
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } });
  });

  test('with no serviceAccountName, serviceAccount names the service account', async () => {
    const pod = await createPod(ns, podManifest('dep-only', { spec: { serviceAccount: 'robot' } }));
    assert.equal(pod.spec.serviceAccountName, 'robot');
    assert.equal(pod.spec.serviceAccount, 'robot');
  });

  test('serviceAccountName wins over serviceAccount; the stored pod carries it in both', async () => {
    const pod = await createPod(ns, podManifest('dep-both', { serviceAccountName: 'robot', spec: { serviceAccount: 'default' } }));
    assert.equal(pod.spec.serviceAccountName, 'robot');
    assert.equal(pod.spec.serviceAccount, 'robot');
  });

  test('a serviceAccount that does not exist: 403, nothing stored', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('dep-ghost', { spec: { serviceAccount: 'ghost' } }));
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json().reason, 'Forbidden');
    assert.equal(res.json().message, `pods "dep-ghost" is forbidden: error looking up service account ${ns}/ghost: serviceaccount "ghost" not found`);
    assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/dep-ghost`)).status, 404);
  });

  test('a mirror pod with serviceAccount references a service account', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('dep-mirror', { metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } }, spec: { serviceAccount: 'robot' } }));
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json().message, 'pods "dep-mirror" is forbidden: a mirror pod may not reference service accounts');
  });
});

describe('ServiceAccount admission: mirror pods', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('samirror');
  });

  const MIRROR = { 'kubernetes.io/config.mirror': 'x' };
  const app = (extra: object): object => ({ name: 'app', image: 'app:1', ...extra });
  const secretEnv = { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] };
  const tokenVolume = { name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } };
  const SECRETS = 'a mirror pod may not reference secrets';
  const PROJECTION = 'a mirror pod may not use ServiceAccountToken volume projections';

  test('no secrets of any kind, no token projections; service accounts are checked first', async () => {
    const cases: [string, object, string][] = [
      ['secret volume', { volumes: [{ name: 'v', secret: { secretName: 's' } }] }, SECRETS],
      ['projected secret', { volumes: [{ name: 'v', projected: { sources: [{ secret: { name: 's' } }] } }] }, SECRETS],
      ['csi secret', { volumes: [{ name: 'v', csi: { driver: 'd', nodePublishSecretRef: { name: 's' } } }] }, SECRETS],
      ['container env', { containers: [app(secretEnv)] }, SECRETS],
      ['init container envFrom', { initContainers: [{ name: 'init', image: 'i:1', envFrom: [{ secretRef: { name: 's' } }] }] }, SECRETS],
      ['ephemeral container env', { ephemeralContainers: [{ name: 'debug', image: 'd:1', ...secretEnv }] }, SECRETS],
      ['image pull secret', { imagePullSecrets: [{ name: 's' }] }, SECRETS],
      ['token projection', { volumes: [tokenVolume] }, PROJECTION],
      ['secrets before projections', { volumes: [tokenVolume, { name: 'v', secret: { secretName: 's' } }] }, SECRETS],
      ['service accounts before secrets', { serviceAccountName: 'default', imagePullSecrets: [{ name: 's' }] }, 'a mirror pod may not reference service accounts'],
    ];
    for (const [i, [what, spec, reason]] of cases.entries()) {
      const name = `mirror-${i}`;
      const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest(name, { metadata: { annotations: MIRROR }, spec }));
      assert.equal(res.status, 403, `${what}: ${res.text}`);
      assert.equal(res.json().reason, 'Forbidden', what);
      assert.equal(res.json().message, `pods "${name}" is forbidden: ${reason}`, what);
    }
  });

  test('config maps, downward API and empty secret names are fine', async () => {
    const pod = await createPod(ns, podManifest('mirror-ok', {
      metadata: { annotations: MIRROR },
      spec: {
        volumes: [
          { name: 'cm', configMap: { name: 'c' } },
          { name: 'p', projected: { sources: [{ configMap: { name: 'c' } }, { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } }] } },
        ],
        containers: [app({ env: [{ name: 'C', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] })],
      },
    }));
    assert.equal(pod.spec.serviceAccountName, undefined);
    assert.equal(pod.spec.serviceAccount, undefined);
    assert.equal(pod.spec.volumes.length, 2);
  });
});

describe('ServiceAccount admission: kubernetes.io/enforce-mountable-secrets', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('samount');
    const sa = (name: string, enforce: string | undefined): object => ({
      metadata: { name, ...(enforce !== undefined ? { annotations: { 'kubernetes.io/enforce-mountable-secrets': enforce } } : {}) },
      secrets: [{ name: 'allowed' }],
      imagePullSecrets: [{ name: 'pull-ok' }],
    });
    for (const [name, enforce] of [['strict', 'true'], ['strict1', '1'], ['lax', 'false'], ['odd', 'yes'], ['plain', undefined]] as const) {
      assert.equal((await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, sa(name, enforce))).status, 201);
    }
  });

  const env = (name: string, secret: string): object => ({ name, valueFrom: { secretKeyRef: { name: secret, key: 'k' } } });
  const NOT_LISTED = 'is not allowed because service account strict does not reference that secret';

  test('every secret reference must be one the service account lists, with the Kubernetes messages', async () => {
    const cases: [string, object, string][] = [
      ['secret volume', { volumes: [{ name: 'v', secret: { secretName: 'foo' } }] }, `volume with secret.secretName="foo" ${NOT_LISTED}`],
      ['init container env', { initContainers: [{ name: 'init', image: 'i:1', env: [env('TOKEN', 'foo')] }] }, `init container init with envVar TOKEN referencing secret.secretName="foo" ${NOT_LISTED}`],
      ['init container envFrom', { initContainers: [{ name: 'init', image: 'i:1', envFrom: [{ secretRef: { name: 'foo' } }] }] }, `init container init with envFrom referencing secret.secretName="foo" ${NOT_LISTED}`],
      ['container env', { containers: [{ name: 'app', image: 'a:1', env: [env('OK', 'allowed'), env('TOKEN', 'foo')] }] }, `container app with envVar TOKEN referencing secret.secretName="foo" ${NOT_LISTED}`],
      ['container envFrom', { containers: [{ name: 'app', image: 'a:1', envFrom: [{ secretRef: { name: 'foo' } }] }] }, `container app with envFrom referencing secret.secretName="foo" ${NOT_LISTED}`],
      ['env before envFrom', { containers: [{ name: 'app', image: 'a:1', envFrom: [{ secretRef: { name: 'bar' } }], env: [env('TOKEN', 'foo')] }] }, `container app with envVar TOKEN referencing secret.secretName="foo" ${NOT_LISTED}`],
      ['volumes before containers', { volumes: [{ name: 'v', secret: { secretName: 'vol' } }], containers: [{ name: 'app', image: 'a:1', env: [env('TOKEN', 'foo')] }] }, `volume with secret.secretName="vol" ${NOT_LISTED}`],
      ['an image pull secret the service account does not list', { imagePullSecrets: [{ name: 'pull-ok' }, { name: 'allowed' }] }, 'imagePullSecrets[1].name="allowed" is not allowed because service account strict does not reference that imagePullSecret'],
    ];
    for (const [i, [what, spec, reason]] of cases.entries()) {
      const name = `e${i + 1}`;
      const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest(name, { serviceAccountName: 'strict', spec }));
      assert.equal(res.status, 403, `${what}: ${res.text}`);
      assert.equal(res.json().reason, 'Forbidden', what);
      assert.equal(res.json().message, `pods "${name}" is forbidden: ${reason}`, what);
      assert.equal((await admin.get(`/api/v1/namespaces/${ns}/pods/${name}`)).status, 404, what);
    }
  });

  test('listed secrets pass; projected secrets are not checked; inherited pull secrets are listed ones', async () => {
    const pod = await createPod(ns, podManifest('listed', {
      serviceAccountName: 'strict',
      spec: {
        volumes: [{ name: 'v', secret: { secretName: 'allowed' } }, { name: 'p', projected: { sources: [{ secret: { name: 'unlisted' } }] } }],
        containers: [{ name: 'app', image: 'a:1', env: [env('TOKEN', 'allowed')], envFrom: [{ secretRef: { name: 'allowed' } }] }],
      },
    }));
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'pull-ok' }]);
  });

  test('only a ParseBool true enforces: "1" does, "false", "yes" and no annotation do not', async () => {
    const spec = { volumes: [{ name: 'v', secret: { secretName: 'foo' } }] };
    const refused = await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('by-one', { serviceAccountName: 'strict1', spec }));
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json().message, 'pods "by-one" is forbidden: volume with secret.secretName="foo" is not allowed because service account strict1 does not reference that secret');
    for (const sa of ['lax', 'odd', 'plain']) await createPod(ns, podManifest(`by-${sa}`, { serviceAccountName: sa, spec }));
  });
});

describe('service account controllers', () => {
  test('every namespace gets a default service account, recreated when deleted', async () => {
    const ns = await ts.namespace('defsa');
    const first = (await admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).json();
    assert.equal(first.metadata.name, 'default');
    assert.equal((await admin.delete(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).status, 200);
    const again = await waitFor('default to come back', async () => {
      const res = await admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
      return res.status === 200 ? res.json() : undefined;
    });
    assert.notEqual(again.metadata.uid, first.metadata.uid);
  });

  test('every namespace gets kube-root-ca.crt; it is repaired when deleted or changed', async () => {
    const ns = await ts.namespace('rootca');
    const path = `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`;
    const want = { 'ca.crt': ts.handle.pki.ca.certPem };
    const cm = await waitFor('kube-root-ca.crt', async () => {
      const res = await admin.get(path);
      return res.status === 200 ? res.json() : undefined;
    });
    assert.deepEqual(cm.data, want);
    assert.deepEqual(cm.metadata.annotations, { 'kubernetes.io/description': ROOT_CA_DESCRIPTION });

    await admin.patch(path, { data: { 'ca.crt': 'tampered', extra: 'x' } }, 'application/merge-patch+json');
    await waitFor('the repair', async () => JSON.stringify((await admin.get(path)).json().data) === JSON.stringify(want));
    await admin.delete(path);
    await waitFor('the re-creation', async () => {
      const res = await admin.get(path);
      return res.status === 200 && JSON.stringify(res.json().data) === JSON.stringify(want);
    });
    // the system namespaces have it too
    for (const system of ['default', 'kube-system', 'kube-public']) {
      assert.deepEqual((await admin.get(`/api/v1/namespaces/${system}/configmaps/kube-root-ca.crt`)).json().data, want, system);
    }
  });
});

describe('who may mint tokens and review them', () => {
  let ns: string;
  let podUid: string;
  let n1: Client;

  before(async () => {
    ns = await ts.namespace('mint');
    for (const n of ['mint-n1', 'mint-n2']) await admin.post('/api/v1/nodes', nodeManifest(n));
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'elsewhere' } });
    podUid = (await createPod(ns, podManifest('on-n1', { nodeName: 'mint-n1' }))).metadata.uid;
    await createPod(ns, podManifest('on-n2', { nodeName: 'mint-n2' }));
    await createPod(ns, podManifest('other-sa-on-n2', { nodeName: 'mint-n2', serviceAccountName: 'elsewhere' }));
    n1 = await ts.asUser('system:node:mint-n1', ['system:nodes']);
  });

  const tokenFor = (c: Client, sa: string, spec: object): ReturnType<Client['post']> =>
    c.post(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });

  test('a node: for the service account of a pod on it, bound to that pod', async () => {
    const ok = await tokenFor(n1, 'default', { audiences: ['vault'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'on-n1', uid: podUid } });
    assert.equal(ok.status, 201, ok.text);
  });

  test('a node: not unbound, not without the pod uid, not for another node\'s pod, not for other service accounts', async () => {
    const cases: [string, string, object, RegExp][] = [
      ['unbound', 'default', {}, /^serviceaccounts "default" is forbidden: node requested token not bound to a pod$/],
      ['no uid', 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'on-n1' } }, /node requested token with a pod binding without a uid$/],
      ['pod on n2', 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'on-n2', uid: (await admin.get(`/api/v1/namespaces/${ns}/pods/on-n2`)).json().metadata.uid } }, /node requested token bound to a pod scheduled on a different node$/],
      ['sa only used on n2', 'elsewhere', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'other-sa-on-n2' } }, /^serviceaccounts "elsewhere" is forbidden: User "system:node:mint-n1" cannot create resource "serviceaccounts\/token" in API group "" in the namespace "/],
    ];
    for (const [what, sa, spec, message] of cases) {
      const res = await tokenFor(n1, sa, spec);
      assert.equal(res.status, 403, `${what}: ${res.text}`);
      assert.equal(res.json().reason, 'Forbidden');
      assert.match(res.json().message, message, what);
    }
  });

  test('a service account: only with RBAC create on serviceaccounts/token', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'minter' } });
    const token = (await tokenFor(admin, 'minter', {})).json().status.token;
    const minter = ts.withToken(token);
    const denied = await tokenFor(minter, 'default', {});
    assert.equal(denied.status, 403);
    assert.equal(denied.json().message, `serviceaccounts "default" is forbidden: User "system:serviceaccount:${ns}:minter" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${ns}"`);
    await admin.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: 'token-creator' },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['default'] }],
    });
    await admin.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      metadata: { name: 'minter-creates-tokens' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'token-creator' },
      subjects: [{ kind: 'ServiceAccount', name: 'minter', namespace: ns }],
    });
    const allowed = await tokenFor(minter, 'default', {});
    assert.equal(allowed.status, 201, allowed.text);
    assert.equal((await tokenFor(minter, 'elsewhere', {})).status, 403);
  });

  test('TokenReview: only with create tokenreviews (system:auth-delegator)', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'reviewer' } });
    const reviewer = ts.withToken((await tokenFor(admin, 'reviewer', {})).json().status.token);
    const subject = (await tokenFor(admin, 'default', {})).json().status.token;
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: subject } };
    const denied = await reviewer.post('/apis/authentication.k8s.io/v1/tokenreviews', body);
    assert.equal(denied.status, 403);
    assert.equal(denied.json().message, `tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:${ns}:reviewer" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`);
    await admin.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: `${ns}-reviewer-delegator` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'reviewer', namespace: ns }],
    });
    const allowed = await reviewer.post('/apis/authentication.k8s.io/v1/tokenreviews', body);
    assert.equal(allowed.status, 201, allowed.text);
    assert.equal(allowed.json().status.authenticated, true);
  });
});
