/** Rich Node, Lease and Pod objects for the `kubectl describe` cross-checks, and a list encoder. */
import protobuf from 'protobufjs';
import type { KubeObject } from '@boundtoken/api';
import { encodeProtobufObject } from '@boundtoken/api/protobuf';

/** The `raw` of an encoded object (its message without the envelope). */
export function rawOf(obj: KubeObject): Uint8Array {
  const r = protobuf.Reader.create(encodeProtobufObject(obj).subarray(4));
  let raw: Uint8Array = new Uint8Array();
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2) raw = r.bytes();
    else r.skipType(tag & 7);
  }
  return raw;
}

/** A `<Kind>List` body: ListMeta (field 1) and the items (field 2). */
export function encodeList(apiVersion: string, kind: string, items: KubeObject[]): Buffer {
  const body = protobuf.Writer.create();
  body.uint32(0x0a).bytes(new Uint8Array());
  for (const item of items) body.uint32(0x12).bytes(rawOf(item));
  const env = protobuf.Writer.create();
  env.uint32(0x0a).fork().uint32(0x0a).string(apiVersion).uint32(0x12).string(kind).ldelim();
  env.uint32(0x12).bytes(body.finish());
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), env.finish()]);
}

export const NODE: KubeObject = {
  kind: 'Node',
  apiVersion: 'v1',
  metadata: {
    name: 'n1',
    uid: 'node-uid',
    resourceVersion: '11',
    creationTimestamp: '2024-05-01T09:00:00Z',
    labels: { 'kubernetes.io/hostname': 'n1', 'node-role.kubernetes.io/worker': '' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
  },
  spec: {
    podCIDR: '10.244.1.0/24',
    podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
    providerID: 'kind://docker/kind/n1',
    unschedulable: true,
    taints: [
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: '2024-05-01T09:30:00Z' },
      { key: 'dedicated', value: 'gpu', effect: 'NoExecute' },
    ],
  },
  status: {
    capacity: { cpu: '4', memory: '16314248Ki', pods: '110', 'ephemeral-storage': '102626232Ki' },
    allocatable: { cpu: '3500m', memory: '15Gi', pods: '110' },
    conditions: [
      {
        type: 'MemoryPressure',
        status: 'False',
        lastHeartbeatTime: '2024-05-01T10:00:00Z',
        lastTransitionTime: '2024-05-01T09:00:05Z',
        reason: 'KubeletHasSufficientMemory',
        message: 'kubelet has sufficient memory available',
      },
      {
        type: 'Ready',
        status: 'True',
        lastHeartbeatTime: '2024-05-01T10:00:00Z',
        lastTransitionTime: '2024-05-01T09:00:15Z',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
      },
    ],
    addresses: [
      { type: 'InternalIP', address: '172.18.0.2' },
      { type: 'Hostname', address: 'n1' },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: 'machine-0001',
      systemUUID: 'uuid-0002',
      bootID: 'boot-0003',
      kernelVersion: '6.1.0-18-amd64',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.7.13',
      kubeletVersion: 'v1.32.4',
      kubeProxyVersion: 'v1.32.4',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    images: [{ names: ['docker.io/library/nginx@sha256:abc', 'docker.io/library/nginx:1.27'], sizeBytes: 71000000 }],
    volumesInUse: ['kubernetes.io/csi/driver^vol-1'],
    volumesAttached: [{ name: 'kubernetes.io/csi/driver^vol-1', devicePath: '/dev/xvdb' }],
    runtimeHandlers: [{ name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
    features: { supplementalGroupsPolicy: true },
  },
};

export const LEASE: KubeObject = {
  kind: 'Lease',
  apiVersion: 'coordination.k8s.io/v1',
  metadata: { name: 'n1', namespace: 'kube-node-lease', uid: 'lease-uid' },
  spec: {
    holderIdentity: 'n1',
    leaseDurationSeconds: 40,
    acquireTime: '2024-05-01T09:00:00.000001Z',
    renewTime: '2024-05-01T10:00:01.250000Z',
    leaseTransitions: 2,
  },
};

export const POD: KubeObject = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: {
    name: 'p1',
    namespace: 'default',
    uid: 'pod-uid',
    creationTimestamp: '2024-05-01T09:59:00Z',
    labels: { app: 'web' },
    annotations: { 'example.com/a': 'b' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    volumes: [
      {
        name: 'kube-api-access-abcde',
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            {
              downwardAPI: {
                items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
              },
            },
          ],
          defaultMode: 420,
        },
      },
      { name: 'vault-token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 7200, path: 'vault-token' } }] } },
      { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'creds', secret: { secretName: 'db-creds', items: [{ key: 'password', path: 'pw', mode: 256 }], defaultMode: 288, optional: true } },
      { name: 'cfg', configMap: { name: 'web-config', optional: false } },
      { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'web-data', readOnly: true } },
    ],
    initContainers: [{ name: 'init', image: 'busybox:1.36', command: ['sh', '-c', 'true'], resources: {} }],
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        command: ['nginx'],
        args: ['-g', 'daemon off;'],
        workingDir: '/srv',
        ports: [
          { name: 'http', containerPort: 8080, protocol: 'TCP' },
          { containerPort: 9090, hostPort: 19090, protocol: 'UDP', hostIP: '0.0.0.0' },
        ],
        envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'web-env', optional: true } }, { secretRef: { name: 'web-secret' } }],
        env: [
          { name: 'MODE', value: 'prod' },
          { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
          { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'DB_USER', valueFrom: { configMapKeyRef: { name: 'db', key: 'user' } } },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password', optional: false } } },
        ],
        resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
        volumeMounts: [
          { name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          { name: 'vault-token', readOnly: true, mountPath: '/var/run/secrets/vault' },
          { name: 'cache', mountPath: '/cache', subPath: 'web', mountPropagation: 'None' },
        ],
        livenessProbe: {
          httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
          initialDelaySeconds: 3,
          timeoutSeconds: 2,
          periodSeconds: 10,
          successThreshold: 1,
          failureThreshold: 3,
        },
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 30 },
        lifecycle: { preStop: { sleep: { seconds: 5 } } },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
        securityContext: {
          capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
          runAsUser: 1000,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    serviceAccountName: 'web-sa',
    serviceAccount: 'web-sa',
    automountServiceAccountToken: true,
    nodeName: 'n1',
    securityContext: { runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000, 5000], sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
    imagePullSecrets: [{ name: 'registry' }],
    hostname: 'web-0',
    subdomain: 'web',
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
    ],
    hostAliases: [{ ip: '10.0.0.5', hostnames: ['db.local'] }],
    priorityClassName: 'high',
    priority: 1000,
    dnsConfig: { nameservers: ['1.1.1.1'], searches: ['svc.local'], options: [{ name: 'ndots', value: '2' }] },
    readinessGates: [{ conditionType: 'example.com/ready' }],
    runtimeClassName: 'runc',
    enableServiceLinks: false,
    preemptionPolicy: 'PreemptLowerPriority',
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: '2024-05-01T09:59:02Z' },
      { type: 'Ready', status: 'False', lastTransitionTime: '2024-05-01T09:59:05Z', reason: 'ContainersNotReady', message: 'containers with unready status: [web]' },
    ],
    hostIP: '172.18.0.2',
    hostIPs: [{ ip: '172.18.0.2' }],
    podIP: '10.244.1.7',
    podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00:1::7' }],
    startTime: '2024-05-01T09:59:01Z',
    initContainerStatuses: [
      {
        name: 'init',
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2024-05-01T09:59:01Z', finishedAt: '2024-05-01T09:59:02Z', containerID: 'containerd://init' } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: 'docker.io/library/busybox:1.36',
        imageID: 'docker.io/library/busybox@sha256:def',
        containerID: 'containerd://init',
      },
    ],
    containerStatuses: [
      {
        name: 'web',
        state: { running: { startedAt: '2024-05-01T09:59:03Z' } },
        lastState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', message: 'out of memory', startedAt: '2024-05-01T09:58:00Z', finishedAt: '2024-05-01T09:59:00Z' } },
        ready: false,
        restartCount: 2,
        image: 'docker.io/library/nginx:1.27',
        imageID: 'docker.io/library/nginx@sha256:abc',
        containerID: 'containerd://web',
        started: true,
      },
    ],
    qosClass: 'Burstable',
  },
};
