/**
 * What clients read before they act: /version, discovery (legacy and aggregated), OpenAPI v3 and
 * v2, health endpoints, and Table output for `kubectl get`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../support/http.js';
import { nodeManifest, podManifest, startTestServer, type TestServer } from '../support/server.js';

let ts: TestServer;
let admin: Client;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
});
after(() => ts?.close());

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const AGGREGATED_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

describe('version and health', () => {
  test('/version reports a Kubernetes 1.32 server (the kubectl dispatcher picks its kubectl by it)', async () => {
    const res = await admin.get('/version?timeout=5s', { accept: 'application/json, */*' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const v = res.json();
    assert.equal(v.major, '1');
    assert.equal(v.minor, '32');
    assert.match(v.gitVersion, /^v1\.32\.\d+/);
    assert.deepEqual(Object.keys(v), ['major', 'minor', 'gitVersion', 'gitCommit', 'gitTreeState', 'buildDate', 'goVersion', 'compiler', 'platform']);
  });

  for (const which of ['healthz', 'livez', 'readyz']) {
    test(`/${which}: ok, verbose lists the checks, one check by name`, async () => {
      const plain = await admin.get(`/${which}`);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(plain.text, 'ok');
      const verbose = await admin.get(`/${which}?verbose`);
      assert.equal(verbose.status, 200);
      const lines = verbose.text.trimEnd().split('\n');
      assert.equal(lines.at(-1), `${which} check passed`);
      assert.ok(lines.includes('[+]ping ok'), verbose.text);
      for (const l of lines.slice(0, -1)) assert.match(l, /^\[\+\][a-z-]+ ok$/);
      assert.equal((await admin.get(`/${which}/ping`)).text, 'ok');
      assert.equal((await admin.get(`/${which}/no-such-check`)).status, 404);
    });
  }

  test('non-resource paths answer GET only', async () => {
    const res = await admin.post('/version', {});
    assert.equal(res.status, 405);
  });
});

describe('discovery', () => {
  test('/api and /apis', async () => {
    const api = await admin.get('/api');
    assert.deepEqual(api.json(), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${ts.handle.port}` }] });
    const apis = (await admin.get('/apis')).json();
    assert.equal(apis.kind, 'APIGroupList');
    const groups = Object.fromEntries(apis.groups.map((g: { name: string; versions: { version: string }[]; preferredVersion: { version: string } }) => [g.name, [g.versions.map((v) => v.version), g.preferredVersion.version]]));
    assert.deepEqual(groups['authentication.k8s.io'], [['v1', 'v1beta1'], 'v1']);
    assert.deepEqual(groups['authorization.k8s.io'], [['v1'], 'v1']);
    assert.deepEqual(groups['rbac.authorization.k8s.io'], [['v1'], 'v1']);
    assert.deepEqual(groups['coordination.k8s.io'], [['v1'], 'v1']);
    assert.equal((await admin.get('/apis/authentication.k8s.io')).json().kind, 'APIGroup');
  });

  test('/api/v1 lists resources, subresources and serviceaccounts/token', async () => {
    const list = (await admin.get('/api/v1')).json();
    assert.equal(list.kind, 'APIResourceList');
    assert.equal(list.groupVersion, 'v1');
    const by = Object.fromEntries(list.resources.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(
      { ...by.pods, storageVersionHash: undefined },
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'], categories: ['all'], storageVersionHash: undefined },
    );
    assert.match(by.pods.storageVersionHash, /^[A-Za-z0-9+/]{11}=$/);
    assert.deepEqual(by['serviceaccounts/token'], { name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    assert.deepEqual(by['pods/status'].verbs, ['get', 'patch', 'update']);
    assert.deepEqual(by['pods/binding'].verbs, ['create']);
    assert.equal(by.nodes.namespaced, false);
    for (const r of ['namespaces', 'serviceaccounts', 'pods', 'nodes', 'secrets', 'configmaps', 'events']) assert.ok(by[r], r);
  });

  test('/apis/authentication.k8s.io/v1 serves tokenreviews and selfsubjectreviews (create)', async () => {
    const list = (await admin.get('/apis/authentication.k8s.io/v1')).json();
    const by = Object.fromEntries(list.resources.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(by.tokenreviews, { name: 'tokenreviews', singularName: 'tokenreview', namespaced: false, kind: 'TokenReview', verbs: ['create'] });
    assert.deepEqual(by.selfsubjectreviews.verbs, ['create']);
    assert.deepEqual((await admin.get('/apis/authentication.k8s.io/v1beta1')).json().resources.map((r: { name: string }) => r.name), ['selfsubjectreviews']);
    assert.equal((await admin.get('/apis/example.com/v1')).status, 404);
  });

  test('aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1)', async () => {
    for (const [accept, version] of [[AGGREGATED_ACCEPT, 'v2'], ['application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList', 'v2beta1']] as const) {
      const core = await admin.get('/api', { accept });
      assert.equal(core.headers['content-type'], `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`);
      assert.equal(core.headers.vary, 'Accept');
      const doc = core.json();
      assert.equal(doc.kind, 'APIGroupDiscoveryList');
      assert.equal(doc.apiVersion, `apidiscovery.k8s.io/${version}`);
      assert.equal(doc.items.length, 1);
      assert.equal(doc.items[0].metadata.name, '');
      const v1 = doc.items[0].versions[0];
      assert.equal(v1.version, 'v1');
      assert.equal(v1.freshness, 'Current');
      const sa = v1.resources.find((r: { resource: string }) => r.resource === 'serviceaccounts');
      assert.equal(sa.scope, 'Namespaced');
      assert.deepEqual(sa.subresources, [{ subresource: 'token', responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] }]);
      const groups = (await admin.get('/apis', { accept })).json();
      const authn = groups.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'authentication.k8s.io');
      assert.deepEqual(authn.versions.map((v: { version: string }) => v.version), ['v1', 'v1beta1']);
      const tr = authn.versions[0].resources.find((r: { resource: string }) => r.resource === 'tokenreviews');
      assert.deepEqual(tr, { resource: 'tokenreviews', responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview' }, scope: 'Cluster', singularResource: 'tokenreview', verbs: ['create'] });
    }
    // plain JSON first: legacy discovery
    assert.equal((await admin.get('/apis', { accept: 'application/json, */*' })).json().kind, 'APIGroupList');
  });
});

describe('OpenAPI', () => {
  test('the v3 index points at per-group-version documents by hash', async () => {
    const index = (await admin.get('/openapi/v3')).json();
    const paths = Object.keys(index.paths);
    for (const p of ['api/v1', 'apis/authentication.k8s.io/v1', 'apis/authorization.k8s.io/v1', 'apis/rbac.authorization.k8s.io/v1']) assert.ok(paths.includes(p), p);
    const url: string = index.paths['api/v1'].serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
    const hashed = await admin.get(url);
    assert.equal(hashed.status, 200);
    assert.equal(hashed.headers['cache-control'], 'public, immutable');
    const doc = hashed.json();
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.components.schemas['io.k8s.api.core.v1.Pod']);
    assert.ok(Object.keys(doc.paths).includes('/api/v1/namespaces/{namespace}/pods/{name}'));
    const unhashed = await admin.get('/openapi/v3/api/v1');
    assert.equal(unhashed.headers['cache-control'], 'no-cache, private');
    assert.equal(unhashed.text, hashed.text);
    const authn = (await admin.get(index.paths['apis/authentication.k8s.io/v1'].serverRelativeURL)).json();
    assert.ok(authn.components.schemas['io.k8s.api.authentication.v1.TokenReview']);
    assert.equal((await admin.get('/openapi/v3/apis/example.com/v1')).status, 404);
  });

  test('v2: an empty octet-stream for kubectl\'s protobuf request', async () => {
    const res = await admin.get('/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(res.body.length, 0);
  });
});

describe('Table output', () => {
  let ns: string;
  before(async () => {
    ns = await ts.namespace('tables');
    await admin.post('/api/v1/nodes', nodeManifest('tbl-node', { labels: { 'node-role.kubernetes.io/control-plane': '' } }));
    await admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('web', { nodeName: 'tbl-node', spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } }));
    await admin.patch(`/api/v1/namespaces/${ns}/pods/web/status`, {
      status: {
        phase: 'Running',
        podIP: '10.0.0.5',
        containerStatuses: [
          { name: 'a', ready: true, restartCount: 2, image: 'x', imageID: '', state: { running: {} } },
          { name: 'b', ready: false, restartCount: 1, image: 'y', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    }, 'application/merge-patch+json');
    await admin.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'creds' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: 'p' } });
  });

  async function table(path: string, accept = TABLE_ACCEPT): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await admin.get(path, { accept });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-type'], 'application/json;as=Table;v=v1;g=meta.k8s.io');
    const t = res.json();
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    return t;
  }
  const columns = (t: { columnDefinitions: { name: string; priority: number }[] }): [string, number][] => t.columnDefinitions.map((c) => [c.name, c.priority]);

  test('pods: NAME READY STATUS RESTARTS AGE, and the wide columns', async () => {
    const t = await table(`/api/v1/namespaces/${ns}/pods?limit=500`);
    assert.deepEqual(columns(t), [['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1]]);
    assert.match(t.metadata.resourceVersion, /^\d+$/);
    const [row] = t.rows;
    assert.deepEqual([row.cells[0], row.cells[1], row.cells[2], row.cells[3]], ['web', '1/2', 'CrashLoopBackOff', '3']);
    assert.match(row.cells[4], /^\d+s$/);
    assert.deepEqual(row.cells.slice(5), ['10.0.0.5', 'tbl-node', '<none>', '<none>']);
    assert.equal(row.object.kind, 'PartialObjectMetadata');
    assert.equal(row.object.apiVersion, 'meta.k8s.io/v1');
    assert.equal(row.object.metadata.name, 'web');
  });

  test('nodes: status and roles', async () => {
    const t = await table('/api/v1/nodes/tbl-node');
    assert.deepEqual(columns(t).map(([n]) => n), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
    const cells = t.rows[0].cells;
    assert.deepEqual([cells[0], cells[1], cells[2], cells[4], cells[5], cells[6]], ['tbl-node', 'Ready', 'control-plane', 'v1.32.0', '10.0.0.1', '<none>']);
  });

  test('secrets, service accounts, config maps, namespaces', async () => {
    const secrets = await table(`/api/v1/namespaces/${ns}/secrets`);
    assert.deepEqual(columns(secrets).map(([n]) => n), ['Name', 'Type', 'Data', 'Age']);
    assert.deepEqual(secrets.rows[0].cells.slice(0, 3), ['creds', 'kubernetes.io/basic-auth', 2]);
    const sas = await table(`/api/v1/namespaces/${ns}/serviceaccounts`);
    assert.deepEqual(columns(sas).map(([n]) => n), ['Name', 'Secrets', 'Age']);
    assert.deepEqual(sas.rows[0].cells.slice(0, 2), ['default', 0]);
    const cms = await table(`/api/v1/namespaces/${ns}/configmaps`);
    assert.deepEqual(columns(cms).map(([n]) => n), ['Name', 'Data', 'Age']);
    assert.deepEqual(cms.rows[0].cells.slice(0, 2), ['kube-root-ca.crt', 1]);
    const nss = await table(`/api/v1/namespaces/${ns}`);
    assert.deepEqual(nss.rows[0].cells.slice(0, 2), [ns, 'Active']);
  });

  test('includeObject=None and Object; v1beta1; plain JSON when the client prefers it', async () => {
    const none = await table(`/api/v1/namespaces/${ns}/pods?includeObject=None`);
    assert.equal(none.rows[0].object, undefined);
    const full = await table(`/api/v1/namespaces/${ns}/pods?includeObject=Object`);
    assert.equal(full.rows[0].object.kind, 'Pod');
    assert.equal(full.rows[0].object.spec.nodeName, 'tbl-node');
    const beta = await admin.get(`/api/v1/namespaces/${ns}/pods`, { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' });
    assert.equal(beta.json().apiVersion, 'meta.k8s.io/v1beta1');
    assert.equal(beta.headers['content-type'], 'application/json;as=Table;v=v1beta1;g=meta.k8s.io');
    const plain = await admin.get(`/api/v1/namespaces/${ns}/pods`, { accept: 'application/json' });
    assert.equal(plain.json().kind, 'PodList');
    const bad = await admin.get(`/api/v1/namespaces/${ns}/pods?includeObject=Everything`, { accept: TABLE_ACCEPT });
    assert.equal(bad.status, 400);
  });
});
