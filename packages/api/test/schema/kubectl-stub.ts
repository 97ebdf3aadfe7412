/**
 * A tiny Kubernetes API stub for driving the real kubectl against our OpenAPI documents and
 * patch code: /version, legacy discovery, /openapi/v3 (+ per group-version documents), an empty
 * /openapi/v2, and just enough CRUD (create, get, patch) on an in-memory map. Loopback only, on a
 * random port; every request is recorded.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStatusError, notFound, type KubeObject } from '@boundtoken/api';
import {
  checkObject,
  findDuplicateKeys,
  openApiHash,
  openApiV3Document,
  openApiV3Index,
  openApiV3Path,
  type FieldValidation,
  type OpenApiResource,
} from '@boundtoken/api/schema';
import { applyServerSide, patchObject, trackUpdate, type PatchType } from '@boundtoken/api/patch';

const run = promisify(execFile);

export interface StubGroup {
  group: string;
  version: string;
  resources: OpenApiResource[];
}

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: string;
}


export interface Stub {
  url: string;
  requests: Recorded[];
  objects: Map<string, KubeObject>;
  /** Runs kubectl against the stub with a private HOME and kubeconfig. */
  kubectl(args: string[], opts?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes a file in the stub's temp directory and returns its path. */
  file(name: string, text: string): string;
  close(): Promise<void>;
}

export const SERVED: StubGroup[] = [
  {
    group: '',
    version: 'v1',
    resources: [
      {
        kind: 'Pod',
        resource: 'pods',
        namespaced: true,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: [
          { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
          { name: 'binding', kind: 'Binding', verbs: ['create'] },
        ],
      },
      {
        kind: 'ServiceAccount',
        resource: 'serviceaccounts',
        namespaced: true,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: [{ name: 'token', kind: 'TokenRequest', verbs: ['create'] }],
      },
      { kind: 'ConfigMap', resource: 'configmaps', namespaced: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      { kind: 'Secret', resource: 'secrets', namespaced: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      { kind: 'Namespace', resource: 'namespaces', namespaced: false, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      {
        kind: 'Node',
        resource: 'nodes',
        namespaced: false,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: [{ name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update'] }],
      },
    ],
  },
  {
    group: 'authentication.k8s.io',
    version: 'v1',
    resources: [
      { kind: 'TokenReview', resource: 'tokenreviews', namespaced: false, verbs: ['create'] },
      { kind: 'SelfSubjectReview', resource: 'selfsubjectreviews', namespaced: false, verbs: ['create'] },
    ],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resources: [
      { kind: 'Role', resource: 'roles', namespaced: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      { kind: 'ClusterRole', resource: 'clusterroles', namespaced: false, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    ],
  },
];

const PATCH_TYPES: Record<string, PatchType | 'apply'> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export async function startStub(minor = '32', groups: StubGroup[] = SERVED): Promise<Stub> {
  const dir = mkdtempSync(join(tmpdir(), 'boundtoken-kubectl-'));
  const requests: Recorded[] = [];
  const objects = new Map<string, KubeObject>();
  const docs = new Map<string, string>();
  for (const g of groups) docs.set(openApiV3Path(g), JSON.stringify(openApiV3Document(g, g.resources)));
  const index = JSON.stringify(
    openApiV3Index([...docs].map(([path, body]) => ({ path, hash: openApiHash(body) }))),
  );
  let rv = 1;
  const stub: Stub = {
    url: '',
    requests,
    objects,
    kubectl: async () => ({ code: 0, stdout: '', stderr: '' }),
    file: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    close: async () => {},
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://stub');
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], body });
      try {
        handle(req, res, url, body);
      } catch (err) {
        if (isStatusError(err)) return send(res, err.code, err.status);
        send(res, 500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: String(err), code: 500 });
      }
    });
  });

  function handle(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    const path = url.pathname;
    if (path === '/version') {
      return send(res, 200, {
        major: '1',
        minor,
        gitVersion: `v1.${minor}.0-boundtoken`,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.23.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    if (path === '/api') {
      return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    }
    if (path === '/apis') {
      return send(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups
          .filter((g) => g.group)
          .map((g) => ({
            name: g.group,
            versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
            preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
          })),
      });
    }
    const gv = groups.find((g) => path === `/${openApiV3Path(g)}`);
    if (gv) return send(res, 200, resourceList(gv));
    if (path === '/openapi/v3') return sendText(res, 200, 'application/json', index);
    if (path.startsWith('/openapi/v3/')) {
      const doc = docs.get(path.slice('/openapi/v3/'.length));
      if (doc) return sendText(res, 200, 'application/json', doc);
    }
    if (path === '/openapi/v2') return sendText(res, 200, 'application/octet-stream', '');
    return resource(req, res, url, body);
  }

  function resource(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const g = m && groups.find((x) => x.group === (m[1] ?? '') && (m[1] ? x.version === m[2] : true));
    const r = g?.resources.find((x) => x.resource === m![4]);
    if (!m || !g || !r) return send(res, 404, notFound({ group: '', resource: 'unknown' }, url.pathname).status);
    const gvk = { group: g.group, version: g.version, kind: r.kind };
    const gr = { group: g.group, resource: r.resource };
    const name = m[5];
    const key = `${r.resource}/${m[3] ?? ''}/${name ?? ''}`;
    const validation = (url.searchParams.get('fieldValidation') ?? 'Warn') as FieldValidation;
    const stamp = (obj: KubeObject, old?: KubeObject): KubeObject => ({
      ...obj,
      apiVersion: g.group ? `${g.group}/${g.version}` : g.version,
      kind: r.kind,
      metadata: {
        ...obj.metadata,
        namespace: m[3],
        uid: old?.metadata?.uid ?? `uid-${rv}`,
        resourceVersion: String(++rv),
        creationTimestamp: old?.metadata?.creationTimestamp ?? '2025-01-01T00:00:00Z',
      },
    });
    const now = new Date('2025-01-01T00:00:00Z');
    const manager = url.searchParams.get('fieldManager') ?? 'kubectl';
    if (req.method === 'POST' && !name) {
      const { object, warnings } = checkObject(JSON.parse(body), gvk, { fieldValidation: validation, duplicateFields: findDuplicateKeys(body) });
      const stored = stamp(trackUpdate(undefined, object, { manager, operation: 'Update', gvk, now }));
      if (r.verbs.includes('get')) objects.set(`${r.resource}/${m[3] ?? ''}/${stored.metadata!.name}`, stored);
      return send(res, 201, stored, warnings);
    }
    if (req.method === 'GET' && name) {
      const obj = objects.get(key);
      return obj ? send(res, 200, obj) : send(res, 404, notFound(gr, name).status);
    }
    if (req.method === 'PATCH' && name) {
      const type = PATCH_TYPES[(req.headers['content-type'] ?? '').split(';')[0]!];
      const live = objects.get(key);
      if (type === 'apply') {
        const config = JSON.parse(body) as KubeObject;
        const stored = stamp(applyServerSide(live, config, { manager, force: url.searchParams.get('force') === 'true', gvk, now }), live);
        objects.set(key, stored);
        return send(res, live ? 200 : 201, stored);
      }
      if (!live) return send(res, 404, notFound(gr, name).status);
      const { object, warnings } = patchObject(live, JSON.parse(body), {
        type: type!,
        gvk,
        fieldValidation: validation,
        duplicateFields: findDuplicateKeys(body),
      });
      const stored = stamp(trackUpdate(live, object, { manager, operation: 'Update', gvk, now }), live);
      objects.set(key, stored);
      return send(res, 200, stored, warnings);
    }
    send(res, 405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405, reason: 'MethodNotAllowed' });
  }

  function resourceList(g: StubGroup): object {
    const resources: object[] = [];
    for (const r of g.resources) {
      resources.push({ name: r.resource, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: r.verbs });
      for (const s of r.subresources ?? []) {
        resources.push({ name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: g.group ? `${g.group}/${g.version}` : g.version, resources };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = stub.file(
    'kubeconfig',
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: stub, cluster: {server: "' + stub.url + '"}}]',
      'users: [{name: stub, user: {token: stub-token}}]',
      'contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]',
      'current-context: stub',
      '',
    ].join('\n'),
  );
  stub.kubectl = async (args, opts) => {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig };
    const child = run('kubectl', args, { env, timeout: 60_000 });
    if (opts?.input !== undefined) {
      child.child.stdin?.end(opts.input);
    }
    try {
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  stub.close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  };
  return stub;
}

function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  if (warnings.length > 0) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  sendText(res, code, 'application/json', JSON.stringify(body));
}

function sendText(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
