/**
 * The ServiceAccount admission plugin (reference/k8s-server.md §7): pods run as `default` unless
 * they say otherwise, the service account must exist, and — unless automounting is off on the pod
 * or its service account — every container gets the `kube-api-access-xxxxx` projected volume
 * (token, `ca.crt`, namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount.
 */
import { forbidden, type Container, type Pod, type ProjectedVolumeSource, type ServiceAccount } from '@boundtoken/api';
import type { ObjectCache } from '../cache/types.js';
import { randomSuffix } from '../registry/registry.js';
import type { AdmissionPlugin } from './types.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const KUBE_API_ACCESS_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tokenVolumeSource(): ProjectedVolumeSource {
  return {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
      { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  };
}

function mountsServiceAccountPath(c: Container): boolean {
  return (c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH);
}

export function serviceAccountAdmission(serviceAccounts: ObjectCache<ServiceAccount>): AdmissionPlugin {
  return {
    name: 'ServiceAccount',
    async admit(req) {
      if (req.def.resource !== 'pods' || req.operation !== 'CREATE' || req.subresource !== '') return;
      const pod = req.object as Pod;
      const spec = (pod.spec ??= { containers: [] });
      if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
        if (spec.serviceAccountName) {
          throw forbidden({ group: '', resource: 'pods' }, req.name, 'a mirror pod may not reference service accounts');
        }
        return;
      }
      if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
      const saName = spec.serviceAccountName;
      // the default service account may still be on its way (namespace just created): wait a little
      let sa = serviceAccounts.get(req.namespace, saName);
      for (let i = 0; !sa && saName === DEFAULT_SERVICE_ACCOUNT && i < 10; i++) {
        await sleep(100 + Math.floor(Math.random() * 100));
        sa = serviceAccounts.get(req.namespace, saName);
      }
      if (!sa) {
        throw forbidden(
          { group: '', resource: 'pods' },
          req.name,
          `error looking up service account ${req.namespace}/${saName}: serviceaccount "${saName}" not found`,
        );
      }
      if (spec.serviceAccount !== undefined && spec.serviceAccount !== saName) delete spec.serviceAccount;
      spec.serviceAccount = saName;
      if ((spec.imagePullSecrets ?? []).length === 0 && (sa.imagePullSecrets ?? []).length > 0) {
        spec.imagePullSecrets = sa.imagePullSecrets!.map((s) => ({ name: s.name }));
      }
      const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
      if (!automount) return;
      const containers = [...(spec.initContainers ?? []), ...spec.containers];
      const needing = containers.filter((c) => !mountsServiceAccountPath(c));
      if (needing.length === 0) return;
      const volumes = (spec.volumes ??= []);
      let volume = volumes.find((v) => v.name?.startsWith(KUBE_API_ACCESS_PREFIX));
      if (!volume) {
        let name: string;
        do name = `${KUBE_API_ACCESS_PREFIX}${randomSuffix()}`;
        while (volumes.some((v) => v.name === name));
        volume = { name, projected: tokenVolumeSource() };
        volumes.push(volume);
      }
      for (const c of needing) {
        (c.volumeMounts ??= []).push({ name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
      }
    },
  };
}
