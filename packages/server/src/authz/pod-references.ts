/**
 * The API objects a pod references by name (pkg/api/v1/pod: VisitPodSecretNames,
 * VisitPodConfigmapNames, plus service account, PVCs and resource claims as the Node authorizer's graph
 * reads them). Containers include init and ephemeral containers.
 */
import type { Container, Pod } from '@boundtoken/api';

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

function allContainers(pod: Pod): Container[] {
  const spec = pod.spec;
  if (!spec) return [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...((spec.ephemeralContainers ?? []) as Container[])];
}

/** Secret names: image pull secrets, env/envFrom, and the secret refs of volume sources. */
export function podSecretNames(pod: Pod): string[] {
  const names: string[] = [];
  const add = (n: string | undefined): void => {
    if (n) names.push(n);
  };
  for (const ref of pod.spec?.imagePullSecrets ?? []) add(ref.name);
  for (const c of allContainers(pod)) {
    for (const e of c.envFrom ?? []) if (e.secretRef) add(e.secretRef.name);
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) add(e.valueFrom.secretKeyRef.name);
  }
  for (const v of pod.spec?.volumes ?? []) {
    // One source per volume: the first that is set decides, as in the Go switch.
    if (v.azureFile) add(v.azureFile.secretName);
    else if (v.cephfs) add(v.cephfs.secretRef?.name);
    else if (v.cinder) add(v.cinder.secretRef?.name);
    else if (v.flexVolume) add(v.flexVolume.secretRef?.name);
    else if (v.projected) for (const s of v.projected.sources ?? []) add(s.secret?.name);
    else if (v.rbd) add(v.rbd.secretRef?.name);
    else if (v.secret) add(v.secret.secretName);
    else if (v.scaleIO) add(v.scaleIO.secretRef?.name);
    else if (v.iscsi) add(v.iscsi.secretRef?.name);
    else if (v.storageos) add(v.storageos.secretRef?.name);
    else if (v.csi) add(v.csi.nodePublishSecretRef?.name);
  }
  return names;
}

/** ConfigMap names: env/envFrom, configMap volumes and projected configMap sources. */
export function podConfigMapNames(pod: Pod): string[] {
  const names: string[] = [];
  const add = (n: string | undefined): void => {
    if (n) names.push(n);
  };
  for (const c of allContainers(pod)) {
    for (const e of c.envFrom ?? []) if (e.configMapRef) add(e.configMapRef.name);
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef) add(e.valueFrom.configMapKeyRef.name);
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.projected) for (const s of v.projected.sources ?? []) add(s.configMap?.name);
    else if (v.configMap) add(v.configMap.name);
  }
  return names;
}

/** PVC names: persistentVolumeClaim volumes and generic ephemeral volumes (`<pod>-<volume>`). */
export function podClaimNames(pod: Pod): string[] {
  const names: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) names.push(`${pod.metadata?.name ?? ''}-${v.name}`);
  }
  return names;
}

interface PodResourceClaimLike {
  name?: string;
  resourceClaimName?: string;
  resourceClaimTemplateName?: string;
  /** The pre-1.31 shape. */
  source?: { resourceClaimName?: string; resourceClaimTemplateName?: string };
}

/** ResourceClaim names: direct ones, and generated ones once recorded in status.resourceClaimStatuses. */
export function podResourceClaimNames(pod: Pod): string[] {
  const names: string[] = [];
  const claims = ((pod.spec as { resourceClaims?: PodResourceClaimLike[] } | undefined)?.resourceClaims ?? []);
  const statuses = ((pod.status as { resourceClaimStatuses?: PodResourceClaimLike[] } | undefined)?.resourceClaimStatuses ?? []);
  for (const c of claims) {
    const direct = c.resourceClaimName ?? c.source?.resourceClaimName;
    if (direct) names.push(direct);
    else if (c.resourceClaimTemplateName ?? c.source?.resourceClaimTemplateName) {
      const generated = statuses.find((s) => s.name === c.name)?.resourceClaimName;
      if (generated) names.push(generated);
    }
  }
  return names;
}

export function isMirrorPod(pod: Pod): boolean {
  return Object.prototype.hasOwnProperty.call(pod.metadata?.annotations ?? {}, MIRROR_POD_ANNOTATION);
}
