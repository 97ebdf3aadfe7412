/**
 * The objects the server benchmarks work on, created over HTTPS as the admin: a namespace, a Node,
 * a service account, and a pod bound to the node with the kind of status an agent reports (about
 * 3 KB of JSON with its managedFields, like a real small pod). Plus RBAC for the non-admin callers.
 */
import { waitFor } from '../../test/e2e/harness.ts';
import { apiCall, mintIdentity, type CliServer, type Identity } from './servers.js';

export const NAMESPACE = 'bench';
export const NODE = 'bench-node';
export const SERVICE_ACCOUNT = 'bench-sa';
export const POD = 'web-7d9f8c6b5d-x2x4q';

export interface Workload {
  podUid: string;
  nodeUid: string;
  serviceAccountUid: string;
  podPath: string;
}

interface Meta {
  metadata: { uid: string; resourceVersion: string };
}

export function podManifest(name: string, extraLabels: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5d', ...extraLabels } },
    spec: {
      nodeName: NODE,
      serviceAccountName: SERVICE_ACCOUNT,
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/web:1.27.3',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
        },
      ],
    },
  };
}

function podStatus(now: string): object {
  return {
    status: {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: now,
      })),
      hostIP: '10.0.0.11',
      hostIPs: [{ ip: '10.0.0.11' }],
      podIP: '10.244.1.17',
      podIPs: [{ ip: '10.244.1.17' }],
      startTime: now,
      containerStatuses: [
        {
          name: 'web',
          state: { running: { startedAt: now } },
          ready: true,
          restartCount: 0,
          image: 'registry.example.com/web:1.27.3',
          imageID: 'registry.example.com/web@sha256:4c0fdc5f2b8d3a3e7f1c9a8b6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e',
          containerID: 'containerd://0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c',
          started: true,
        },
      ],
      qosClass: 'Burstable',
    },
  };
}

/** Creates the namespace, node, service account and pod (with a status); returns their UIDs. */
export async function createWorkload(server: CliServer): Promise<Workload> {
  const a = server.admin;
  await apiCall(server.url, a, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const node = await apiCall<Meta>(server.url, a, 'POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/os': 'linux' } },
  });
  const sa = await apiCall<Meta>(server.url, a, 'POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: SERVICE_ACCOUNT },
  });
  const pod = await apiCall<Meta>(server.url, a, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, podManifest(POD));
  const podPath = `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`;
  await apiCall(server.url, a, 'PATCH', `${podPath}/status`, podStatus(new Date().toISOString().replace(/\.\d+Z$/, 'Z')), {
    contentType: 'application/merge-patch+json',
  });
  return { podUid: pod.body.metadata.uid, nodeUid: node.body.metadata.uid, serviceAccountUid: sa.body.metadata.uid, podPath };
}

/** Binds `clusterRole` to `user` and waits until the authorizer sees it (`probe` answers 2xx). */
export async function grant(server: CliServer, user: string, clusterRole: string, probe: (id: Identity) => Promise<boolean>): Promise<Identity> {
  const id = await mintIdentity(server, user);
  await apiCall(server.url, server.admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `bench:${user}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }],
  });
  await waitFor(`RBAC to allow ${user}`, () => probe(id));
  return id;
}

/** A ClusterRole that may read pods. */
export async function createPodReaderRole(server: CliServer): Promise<string> {
  const name = 'bench:pod-reader';
  await apiCall(server.url, server.admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  });
  return name;
}
