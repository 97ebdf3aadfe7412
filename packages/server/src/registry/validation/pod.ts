/**
 * Pod validation — the parts of k8s.io/kubernetes/pkg/apis/core/validation that matter for what
 * boundtoken serves: containers, volumes (projected sources in full), mounts, service account,
 * and the rules for pod updates.
 */
import { isDeepStrictEqual } from 'node:util';
import { field, type Container, type FieldError, type Pod, type PodSpec, type Volume, type VolumeProjection } from '@boundtoken/api';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain } from './names.js';

const volumeSourceKinds = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
] as const;

const maxTokenExpiration = 2 ** 32;

/** A projected path: relative, no `..` element, not starting with `..` (ValidateLocalNonReservedPath). */
export function validateLocalNonReservedPath(path: string, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (path.startsWith('/')) errs.push(field.invalid(fld, path, 'must be a relative path'));
  if (path.split('/').includes('..')) errs.push(field.invalid(fld, path, "must not contain '..'"));
  else if (path.startsWith('..')) errs.push(field.invalid(fld, path, "must not start with '..'"));
  return errs;
}

function validateKeyToPaths(items: { key?: string; path?: string; mode?: number }[] | undefined, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  (items ?? []).forEach((item, i) => {
    const p = `${fld}[${i}]`;
    if (!item.key) errs.push(field.required(`${p}.key`));
    if (!item.path) errs.push(field.required(`${p}.path`));
    else errs.push(...validateLocalNonReservedPath(item.path, `${p}.path`));
    if (item.mode !== undefined && (item.mode > 0o777 || item.mode < 0)) {
      errs.push(field.invalid(`${p}.mode`, item.mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
    }
  });
  return errs;
}

function validateMode(mode: number | undefined, fld: string): FieldError[] {
  if (mode === undefined || (mode >= 0 && mode <= 0o777)) return [];
  return [field.invalid(fld, mode, 'must be a number between 0 and 0777 (octal), both inclusive')];
}

const downwardFieldPaths = new Set([
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations',
]);

function validateDownwardItems(items: NonNullable<NonNullable<VolumeProjection['downwardAPI']>['items']>, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  items.forEach((item, i) => {
    const p = `${fld}[${i}]`;
    if (!item.path) errs.push(field.required(`${p}.path`));
    else errs.push(...validateLocalNonReservedPath(item.path, `${p}.path`));
    errs.push(...validateMode(item.mode, `${p}.mode`));
    if (item.fieldRef && item.resourceFieldRef) {
      errs.push(field.invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    } else if (item.fieldRef) {
      const fp = item.fieldRef.fieldPath;
      const labelOrAnnotation = /^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp ?? '');
      if (!fp) errs.push(field.required(`${p}.fieldRef.fieldPath`));
      else if (!downwardFieldPaths.has(fp) && !labelOrAnnotation) {
        errs.push(field.notSupported(`${p}.fieldRef.fieldPath`, fp, [...downwardFieldPaths]));
      }
    } else if (item.resourceFieldRef) {
      if (!item.resourceFieldRef.resource) errs.push(field.required(`${p}.resourceFieldRef.resource`));
    } else {
      errs.push(field.required(p, 'one of fieldRef and resourceFieldRef is required'));
    }
  });
  return errs;
}

function validateProjection(src: VolumeProjection, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const kinds = (['secret', 'configMap', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle'] as const).filter(
    (k) => src[k] !== undefined && src[k] !== null,
  );
  if (kinds.length === 0) errs.push(field.required(fld, 'must specify exactly 1 of: secret, configMap, downwardAPI, serviceAccountToken, clusterTrustBundle'));
  if (kinds.length > 1) errs.push(field.forbidden(fld, 'may not specify more than 1 volume type per source'));
  if (src.secret) errs.push(...validateKeyToPaths(src.secret.items, `${fld}.secret.items`));
  if (src.configMap) errs.push(...validateKeyToPaths(src.configMap.items, `${fld}.configMap.items`));
  if (src.downwardAPI) errs.push(...validateDownwardItems(src.downwardAPI.items ?? [], `${fld}.downwardAPI.items`));
  const sat = src.serviceAccountToken;
  if (sat) {
    const p = `${fld}.serviceAccountToken`;
    const exp = sat.expirationSeconds;
    if (exp !== undefined && exp !== null) {
      if (exp < 600) errs.push(field.invalid(`${p}.expirationSeconds`, exp, 'may not specify a duration less than 10 minutes'));
      if (exp > maxTokenExpiration) {
        errs.push(field.invalid(`${p}.expirationSeconds`, exp, 'may not specify a duration larger than 2^32 seconds'));
      }
    }
    if (!sat.path) errs.push(field.required(`${p}.path`));
    else errs.push(...validateLocalNonReservedPath(sat.path, `${p}.path`));
  }
  return errs;
}

function validateVolume(vol: Volume, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!vol.name) errs.push(field.required(`${fld}.name`));
  else for (const m of isDNS1123Label(vol.name)) errs.push(field.invalid(`${fld}.name`, vol.name, m));
  const v = vol as unknown as Record<string, unknown>;
  const kinds = volumeSourceKinds.filter((k) => v[k] !== undefined && v[k] !== null);
  if (kinds.length === 0) errs.push(field.required(fld, 'must specify a volume type'));
  else if (kinds.length > 1) errs.push(field.forbidden(`${fld}.${kinds[1]}`, 'may not specify more than 1 volume type'));
  if (vol.projected) {
    errs.push(...validateMode(vol.projected.defaultMode, `${fld}.projected.defaultMode`));
    (vol.projected.sources ?? []).forEach((s, i) => errs.push(...validateProjection(s, `${fld}.projected.sources[${i}]`)));
  }
  if (vol.secret) {
    errs.push(...validateMode(vol.secret.defaultMode, `${fld}.secret.defaultMode`));
    errs.push(...validateKeyToPaths(vol.secret.items, `${fld}.secret.items`));
  }
  if (vol.configMap) {
    errs.push(...validateMode(vol.configMap.defaultMode, `${fld}.configMap.defaultMode`));
    errs.push(...validateKeyToPaths(vol.configMap.items, `${fld}.configMap.items`));
    if (!vol.configMap.name) errs.push(field.required(`${fld}.configMap.name`));
  }
  if (vol.downwardAPI) {
    errs.push(...validateMode(vol.downwardAPI.defaultMode, `${fld}.downwardAPI.defaultMode`));
    errs.push(...validateDownwardItems(vol.downwardAPI.items ?? [], `${fld}.downwardAPI.items`));
  }
  if (vol.hostPath && !vol.hostPath.path) errs.push(field.required(`${fld}.hostPath.path`));
  return errs;
}

function validateContainers(containers: Container[] | undefined, fld: string, volumes: Set<string>, required: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!containers || containers.length === 0) {
    if (required) errs.push(field.required(fld));
    return errs;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const p = `${fld}[${i}]`;
    if (!c.name) errs.push(field.required(`${p}.name`));
    else {
      for (const m of isDNS1123Label(c.name)) errs.push(field.invalid(`${p}.name`, c.name, m));
      if (names.has(c.name)) errs.push(field.duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image) errs.push(field.required(`${p}.image`));
    const mountPaths = new Set<string>();
    (c.volumeMounts ?? []).forEach((m, j) => {
      const mp = `${p}.volumeMounts[${j}]`;
      if (!m.name) errs.push(field.required(`${mp}.name`));
      else if (!volumes.has(m.name)) errs.push(field.notFound(`${mp}.name`, m.name));
      if (!m.mountPath) errs.push(field.required(`${mp}.mountPath`));
      else if (mountPaths.has(m.mountPath)) errs.push(field.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
      else mountPaths.add(m.mountPath);
      if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
        errs.push(field.invalid(`${mp}.subPath`, m.subPath, "must be a relative path without '..'"));
      }
    });
    (c.ports ?? []).forEach((port, j) => {
      if (!port.containerPort || port.containerPort < 1 || port.containerPort > 65535) {
        errs.push(field.invalid(`${p}.ports[${j}].containerPort`, port.containerPort, 'must be between 1 and 65535, inclusive'));
      }
    });
    (c.env ?? []).forEach((e, j) => {
      if (!e.name) errs.push(field.required(`${p}.env[${j}].name`));
    });
    if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      errs.push(field.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
  });
  return errs;
}

export function validatePodSpec(spec: PodSpec | undefined, fld = 'spec'): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec) return [field.required(fld)];
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    errs.push(...validateVolume(v, `${fld}.volumes[${i}]`));
    if (v.name) {
      if (volumes.has(v.name)) errs.push(field.duplicate(`${fld}.volumes[${i}].name`, v.name));
      volumes.add(v.name);
    }
  });
  errs.push(...validateContainers(spec.containers, `${fld}.containers`, volumes, true));
  errs.push(...validateContainers(spec.initContainers, `${fld}.initContainers`, volumes, false));
  if (spec.restartPolicy && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) {
    errs.push(field.notSupported(`${fld}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']));
  }
  if (spec.dnsPolicy && !['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'].includes(spec.dnsPolicy)) {
    errs.push(field.notSupported(`${fld}.dnsPolicy`, spec.dnsPolicy, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']));
  }
  if (spec.serviceAccountName) {
    for (const m of isDNS1123Subdomain(spec.serviceAccountName)) {
      errs.push(field.invalid(`${fld}.serviceAccountName`, spec.serviceAccountName, m));
    }
  }
  if (spec.nodeName) {
    for (const m of isDNS1123Subdomain(spec.nodeName)) errs.push(field.invalid(`${fld}.nodeName`, spec.nodeName, m));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds !== null && spec.terminationGracePeriodSeconds < 0) {
    errs.push(field.invalid(`${fld}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && spec.activeDeadlineSeconds <= 0) {
    errs.push(field.invalid(`${fld}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (typeof v !== 'string') errs.push(field.invalid(`${fld}.nodeSelector[${k}]`, v, 'must be a string'));
  }
  return errs;
}

/** The pod spec fields an update may change (ValidatePodUpdate). */
export function validatePodSpecUpdate(pod: Pod, old: Pod, binding = false): FieldError[] {
  const strip = (p: Pod): PodSpec => {
    const spec = structuredClone(p.spec ?? ({} as PodSpec)) as PodSpec & Record<string, unknown>;
    // pods/binding sets the node of an unscheduled pod, nothing else
    if (binding && !old.spec?.nodeName) delete spec.nodeName;
    for (const c of spec.containers ?? []) c.image = '';
    for (const c of spec.initContainers ?? []) c.image = '';
    delete spec.activeDeadlineSeconds;
    delete spec.tolerations;
    delete spec.terminationGracePeriodSeconds;
    return spec;
  };
  const oldTolerations = JSON.stringify(old.spec?.tolerations ?? []);
  const newTolerations = pod.spec?.tolerations ?? [];
  const errs: FieldError[] = [];
  if (!(old.spec?.tolerations ?? []).every((t) => newTolerations.some((n) => isDeepStrictEqual(n, t)))) {
    errs.push(field.forbidden('spec.tolerations', `existing toleration can not be modified except its tolerationSeconds: ${oldTolerations}`));
  }
  if (!isDeepStrictEqual(strip(pod), strip(old))) {
    errs.push(
      field.forbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  return errs;
}

export function validateConfigMapKeys(data: Record<string, unknown> | undefined, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of Object.keys(data ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(field.invalid(fld, k, m));
  }
  return errs;
}
