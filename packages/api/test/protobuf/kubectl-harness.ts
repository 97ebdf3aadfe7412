/**
 * Runs the real kubectl against a tiny logging HTTP stub on a random loopback port and captures what
 * it sends. `kubectl` on PATH here is the gcloud dispatcher: it asks `GET /version` first and runs
 * kubectl 1.<minor>, so the stub's answer picks the client version.
 *
 * The stub serves discovery (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`), an empty `/openapi/v2`,
 * a few objects for GETs (a node and a pod, for drain), and answers every write with 201 and a JSON
 * echo of the body: protobuf bodies are decoded with the codec under test, so kubectl's own output
 * ("namespace/ns1 created") shows the decoded object too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from '@boundtoken/api/protobuf';

export interface CapturedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string;
  accept: string;
  userAgent: string;
  body: Buffer;
}

export interface KubectlRun {
  requests: CapturedRequest[];
  /** Requests that carry a body (writes). */
  writes: CapturedRequest[];
  stdout: string;
  stderr: string;
  code: number | null;
}

type Resource = [name: string, kind: string, namespaced: boolean, group?: string, version?: string];

const CORE: Resource[] = [
  ['namespaces', 'Namespace', false],
  ['serviceaccounts', 'ServiceAccount', true],
  ['serviceaccounts/token', 'TokenRequest', true, 'authentication.k8s.io', 'v1'],
  ['secrets', 'Secret', true],
  ['configmaps', 'ConfigMap', true],
  ['pods', 'Pod', true],
  ['pods/eviction', 'Eviction', true, 'policy', 'v1'],
  ['nodes', 'Node', false],
  ['events', 'Event', true],
];

const GROUPS: Record<string, Resource[]> = {
  'authentication.k8s.io/v1': [
    ['tokenreviews', 'TokenReview', false],
    ['selfsubjectreviews', 'SelfSubjectReview', false],
  ],
  'authorization.k8s.io/v1': [
    ['selfsubjectaccessreviews', 'SelfSubjectAccessReview', false],
    ['selfsubjectrulesreviews', 'SelfSubjectRulesReview', false],
    ['subjectaccessreviews', 'SubjectAccessReview', false],
    ['localsubjectaccessreviews', 'LocalSubjectAccessReview', true],
  ],
  'rbac.authorization.k8s.io/v1': [
    ['roles', 'Role', true],
    ['clusterroles', 'ClusterRole', false],
    ['rolebindings', 'RoleBinding', true],
    ['clusterrolebindings', 'ClusterRoleBinding', false],
  ],
  'coordination.k8s.io/v1': [['leases', 'Lease', true]],
};

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resourceList(groupVersion: string, resources: Resource[]): object {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.map(([name, kind, namespaced, group, version]) => ({
      name,
      singularName: '',
      namespaced,
      kind,
      ...(group ? { group, version } : {}),
      verbs: VERBS,
    })),
  };
}

const NODE = { kind: 'Node', apiVersion: 'v1', metadata: { name: 'n1', uid: 'node-uid', resourceVersion: '1' } };
const POD = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'p1', namespace: 'default', uid: 'pod-uid', resourceVersion: '1' },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
};

function echo(req: CapturedRequest): { code: number; body: unknown } {
  if (req.contentType.startsWith(PROTOBUF_MEDIA_TYPE)) {
    try {
      return { code: 201, body: decodeProtobufObject(req.body) };
    } catch (err) {
      const status = (err as { status?: { code: number } }).status;
      return status ? { code: status.code, body: status } : { code: 500, body: { message: String(err) } };
    }
  }
  try {
    return { code: 201, body: JSON.parse(req.body.toString('utf8')) };
  } catch {
    return { code: 201, body: {} };
  }
}

/** A canned answer: a Buffer body is sent as protobuf, anything else as JSON. */
export interface StubReply {
  code: number;
  body: Buffer | object;
}

export interface RunOptions {
  /** Files written into kubectl's working directory. */
  files?: Record<string, string>;
  /** Answers a request before the stub's defaults (return undefined to fall through). */
  reply?: (req: CapturedRequest) => StubReply | undefined;
}

/** Runs `kubectl <args>` against a fresh stub that reports Kubernetes 1.<minor>. */
export async function runKubectl(args: string[], minor: number, options: RunOptions = {}): Promise<KubectlRun> {
  const { files = {}, reply } = options;
  const requests: CapturedRequest[] = [];
  let podDeleted = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const captured: CapturedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.search,
        contentType: req.headers['content-type'] ?? '',
        accept: req.headers.accept ?? '',
        userAgent: req.headers['user-agent'] ?? '',
        body: Buffer.concat(chunks),
      };
      requests.push(captured);
      const send = (code: number, body: unknown, type = 'application/json'): void => {
        res.writeHead(code, { 'content-type': type });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      const custom = reply?.(captured);
      if (custom) {
        const isProto = Buffer.isBuffer(custom.body);
        res.writeHead(custom.code, { 'content-type': isProto ? PROTOBUF_MEDIA_TYPE : 'application/json' });
        return res.end(isProto ? custom.body : JSON.stringify(custom.body));
      }
      const notFound = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' };
      const p = url.pathname;
      if (p === '/version') return send(200, { major: '1', minor: String(minor), gitVersion: `v1.${minor}.0` });
      if (p === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (p === '/apis') {
        return send(200, {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: Object.keys(GROUPS).map((gv) => {
            const [name, version] = gv.split('/') as [string, string];
            return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
          }),
        });
      }
      if (p === '/api/v1') return send(200, resourceList('v1', CORE));
      const gv = p.startsWith('/apis/') ? p.slice('/apis/'.length) : '';
      if (GROUPS[gv]) return send(200, resourceList(gv, GROUPS[gv]));
      if (p === '/openapi/v2') return send(200, '', 'application/octet-stream');
      if (captured.method === 'GET') {
        if (p === '/api/v1/nodes/n1') return send(200, NODE);
        if (p === '/api/v1/pods') return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: podDeleted ? [] : [POD] });
        if (p === '/api/v1/namespaces/default/pods/p1' && !podDeleted) return send(200, POD);
        return send(404, notFound);
      }
      if (captured.method === 'PATCH') return send(200, NODE);
      if (captured.method === 'DELETE') {
        podDeleted = true;
        return send(200, POD);
      }
      if (p.endsWith('/eviction')) podDeleted = true;
      const echoed = echo(captured);
      return send(echoed.code, echoed.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const home = await mkdtemp(join(tmpdir(), 'boundtoken-kubectl-'));
  try {
    const kubeconfig = join(home, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]`,
        'users: [{name: u, user: {token: test-token}}]',
        'contexts: [{name: stub, context: {cluster: stub, user: u, namespace: default}}]',
        'current-context: stub',
        '',
      ].join('\n'),
    );
    for (const [name, content] of Object.entries(files)) await writeFile(join(home, name), content);
    const child = spawn('kubectl', args, {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    return { requests, writes: requests.filter((r) => r.body.length > 0), stdout, stderr, code };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(home, { recursive: true, force: true });
  }
}

/** Whether a kubectl binary is on PATH (tests that need one skip without it). */
export function kubectlAvailable(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}
