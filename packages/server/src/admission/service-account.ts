/**
 * The ServiceAccount admission plugin (reference/k8s-server.md §7,
 * plugin/pkg/admission/serviceaccount/admission.go): pods run as `default` unless they say
 * otherwise (`spec.serviceAccountName`, or the deprecated `spec.serviceAccount`), the service
 * account must exist, and — unless automounting is off on the pod or its service account — every
 * container gets the `kube-api-access-xxxxx` projected volume (token, `ca.crt`, namespace) mounted
 * read-only at /var/run/secrets/kubernetes.io/serviceaccount. Mirror pods may reference no service
 * account, secret or token projection; a service account annotated
 * `kubernetes.io/enforce-mountable-secrets: "true"` limits its pods to the secrets it lists.
 */
import {
  forbidden,
  type Container,
  type Pod,
  type PodSpec,
  type ProjectedVolumeSource,
  type ServiceAccount,
} from '@boundtoken/api';
import { isMirrorPod, podSecretNames } from '../authz/pod-references.js';
import type { ObjectCache } from '../cache/types.js';
import { randomSuffix } from '../registry/registry.js';
import { parseGoBool } from '../util/go-bool.js';
import type { AdmissionPlugin, AdmissionRequest } from './types.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const KUBE_API_ACCESS_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** On a ServiceAccount: when true (strconv.ParseBool), its pods may only use the secrets it lists. */
export const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION = 'kubernetes.io/enforce-mountable-secrets';

const PODS = { group: '', resource: 'pods' };

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

/**
 * v1 → internal (Convert_v1_PodSpec_To_core_PodSpec): the deprecated `serviceAccount` is an alias
 * of `serviceAccountName`, which wins when both are set.
 */
function convertDeprecatedServiceAccount(spec: PodSpec): void {
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
}

/** The service account the internal pod would name (validation may not convert: it only refuses). */
function serviceAccountNameOf(spec: PodSpec): string {
  return spec.serviceAccountName || spec.serviceAccount || '';
}

/** internal → v1: `serviceAccount` always mirrors `serviceAccountName` (and is omitted when empty). */
function setDeprecatedServiceAccount(spec: PodSpec): void {
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  else delete spec.serviceAccount;
}

/**
 * The pod of a request this plugin looks at (shouldIgnore): pods, the main resource. (Kubernetes
 * also checks updates of pods/ephemeralcontainers, a subresource this server does not serve.)
 */
function podOf(req: AdmissionRequest): Pod | undefined {
  if (req.def.group !== '' || req.def.resource !== 'pods') return undefined;
  if (req.subresource !== '') return undefined;
  return req.object as Pod | undefined;
}

function enforceMountableSecrets(sa: ServiceAccount): boolean {
  const value = sa.metadata?.annotations?.[ENFORCE_MOUNTABLE_SECRETS_ANNOTATION];
  return value !== undefined && parseGoBool(value) === true;
}

type EnvContainer = Pick<Container, 'name' | 'env' | 'envFrom'>;

/** The first env/envFrom secret reference of `containers` the service account does not list. */
function limitContainerSecretReferences(what: string, containers: readonly EnvContainer[], mountable: ReadonlySet<string>, saName: string): string | undefined {
  for (const c of containers) {
    for (const env of c.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref && !mountable.has(ref.name ?? '')) {
        return `${what} ${c.name} with envVar ${env.name} referencing secret.secretName="${ref.name ?? ''}" is not allowed because service account ${saName} does not reference that secret`;
      }
    }
    for (const envFrom of c.envFrom ?? []) {
      const ref = envFrom.secretRef;
      if (ref && !mountable.has(ref.name ?? '')) {
        return `${what} ${c.name} with envFrom referencing secret.secretName="${ref.name ?? ''}" is not allowed because service account ${saName} does not reference that secret`;
      }
    }
  }
  return undefined;
}

function mountableSecrets(sa: ServiceAccount): Set<string> {
  return new Set((sa.secrets ?? []).map((s) => s.name ?? ''));
}

/**
 * limitSecretReferences: secret volumes, (init) container env and envFrom must name secrets the
 * service account lists in `secrets`, image pull secrets ones it lists in `imagePullSecrets`.
 * Returns why not, or undefined.
 */
function limitSecretReferences(sa: ServiceAccount, spec: PodSpec): string | undefined {
  const saName = sa.metadata?.name ?? '';
  const mountable = mountableSecrets(sa);
  for (const v of spec.volumes ?? []) {
    if (!v.secret) continue;
    const name = v.secret.secretName ?? '';
    if (!mountable.has(name)) {
      return `volume with secret.secretName="${name}" is not allowed because service account ${saName} does not reference that secret`;
    }
  }
  const containers =
    limitContainerSecretReferences('init container', spec.initContainers ?? [], mountable, saName) ??
    limitContainerSecretReferences('container', spec.containers ?? [], mountable, saName);
  if (containers) return containers;
  const pullSecrets = new Set((sa.imagePullSecrets ?? []).map((s) => s.name ?? ''));
  for (const [i, ref] of (spec.imagePullSecrets ?? []).entries()) {
    if (!pullSecrets.has(ref.name ?? '')) {
      return `imagePullSecrets[${i}].name="${ref.name ?? ''}" is not allowed because service account ${saName} does not reference that imagePullSecret`;
    }
  }
  return undefined;
}

export function serviceAccountAdmission(serviceAccounts: ObjectCache<ServiceAccount>): AdmissionPlugin {
  /** getServiceAccount: the cache, waiting a little for `default` (a namespace just created); 403 if missing. */
  async function lookup(req: AdmissionRequest, saName: string): Promise<ServiceAccount> {
    let sa = serviceAccounts.get(req.namespace, saName);
    if (!sa && saName === DEFAULT_SERVICE_ACCOUNT) {
      const retryMs = 100 + Math.floor(Math.random() * 100);
      for (let i = 1; !sa && i < 10; i++) {
        await sleep(retryMs);
        sa = serviceAccounts.get(req.namespace, saName);
      }
    }
    if (!sa) {
      throw forbidden(PODS, req.name, `error looking up service account ${req.namespace}/${saName}: serviceaccount "${saName}" not found`);
    }
    return sa;
  }

  /** Mirror pods have restrictions on what they can reference. */
  function validateMirrorPod(req: AdmissionRequest, pod: Pod): void {
    const spec = pod.spec ?? { containers: [] };
    if (serviceAccountNameOf(spec)) throw forbidden(PODS, req.name, 'a mirror pod may not reference service accounts');
    if (podSecretNames(pod).length > 0) throw forbidden(PODS, req.name, 'a mirror pod may not reference secrets');
    for (const v of spec.volumes ?? []) {
      if ((v.projected?.sources ?? []).some((s) => s.serviceAccountToken)) {
        throw forbidden(PODS, req.name, 'a mirror pod may not use ServiceAccountToken volume projections');
      }
    }
  }

  async function validate(req: AdmissionRequest): Promise<void> {
    const pod = podOf(req);
    if (!pod || req.operation !== 'CREATE') return;
    if (isMirrorPod(pod)) {
      validateMirrorPod(req, pod);
      return;
    }
    const spec = pod.spec ?? { containers: [] };
    const saName = serviceAccountNameOf(spec);
    if (!saName) {
      throw forbidden(PODS, req.name, `no service account specified for pod ${req.namespace}/${pod.metadata?.name ?? ''}`);
    }
    const sa = await lookup(req, saName);
    if (enforceMountableSecrets(sa)) {
      const why = limitSecretReferences(sa, spec);
      if (why) throw forbidden(PODS, req.name, why);
    }
  }

  return {
    name: 'ServiceAccount',
    async admit(req) {
      const pod = podOf(req);
      if (!pod || req.operation !== 'CREATE') return;
      const spec = (pod.spec ??= { containers: [] });
      convertDeprecatedServiceAccount(spec);
      // don't modify the spec of mirror pods (the kubelet would not recognise them): only check them
      if (isMirrorPod(pod)) {
        validateMirrorPod(req, pod);
        setDeprecatedServiceAccount(spec);
        return;
      }
      if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
      const sa = await lookup(req, spec.serviceAccountName);
      setDeprecatedServiceAccount(spec);
      const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
      if (automount) mountServiceAccountToken(spec);
      if ((spec.imagePullSecrets ?? []).length === 0 && (sa.imagePullSecrets ?? []).length > 0) {
        spec.imagePullSecrets = sa.imagePullSecrets!.map((s) => ({ name: s.name }));
      }
      await validate(req);
    },
    validate,
  };
}

/** Mounts the kube-api-access volume in every (init) container that has nothing at the path yet. */
function mountServiceAccountToken(spec: PodSpec): void {
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
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
}
