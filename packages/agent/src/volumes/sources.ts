/**
 * Turning a pod's volume definitions into AtomicWriter payloads, as the kubelet's volume plugins
 * do (projected.go collectData, configmap/secret MakePayload, downwardapi CollectData):
 *
 * - projected: sources read in order into one map, a later source overriding an earlier one at
 *   the same path; every source's error is collected and any error fails the whole volume (the
 *   files on disk stay as they were);
 * - configMap / secret: all keys, or only `items` (key → path, per-item `mode`); a missing object or
 *   key is an error unless `optional`;
 * - downwardAPI: pod fields and container resources;
 * - serviceAccountToken: a TokenRequest bound to the pod, through the token manager; the file is
 *   `defaultMode`, or 0600 when the pod has an fsUser or fsGroup (SetVolumeOwnership then makes
 *   it 0640 for the group).
 *
 * Plain `configMap`, `secret` and `downwardAPI` volumes use the same collectors.
 */
import type {
  ConfigMap,
  DownwardAPIVolumeFile,
  KeyToPath,
  Pod,
  ProjectedVolumeSource,
  Secret,
  ServiceAccountTokenProjection,
  TokenRequest,
  Volume,
  VolumeProjection,
} from '@boundtoken/api';
import { cleanPath, type FileProjection } from '../atomic-writer.js';
import { AgentError, aggregate, isNotFound } from '../errors.js';
import { extractFieldPathAsString } from './fieldpath.js';
import { extractResourceValue, type NodeAllocatable } from './resource.js';

/** `ProjectedVolumeSourceDefaultMode` and friends: 0644. */
export const DEFAULT_MODE = 0o644;
/** Mode of token (and trust bundle) files when the pod has an fsUser or fsGroup. */
export const TOKEN_MODE_WITH_OWNERSHIP = 0o600;

/** Reads the objects a volume needs (from the agent's watch caches or the API). */
export interface ObjectGetter {
  getConfigMap(namespace: string, name: string): Promise<ConfigMap>;
  getSecret(namespace: string, name: string): Promise<Secret>;
}

export interface TokenGetter {
  getServiceAccountToken(namespace: string, serviceAccount: string, request: TokenRequest): Promise<TokenRequest>;
}

export interface CollectContext {
  pod: Pod;
  objects: ObjectGetter;
  tokens: TokenGetter;
  nodeAllocatable: NodeAllocatable;
  /** FsUserFrom(pod): the one runAsUser every container runs as, if there is one. */
  fsUser?: number;
  /** The pod's `securityContext.fsGroup`. */
  fsGroup?: number;
}

/** The kubelet's plugin directory names (EscapeQualifiedName of the plugin name). */
export type VolumePluginDir = 'kubernetes.io~projected' | 'kubernetes.io~configmap' | 'kubernetes.io~secret' | 'kubernetes.io~downward-api';

/** The plugin directory for a volume the agent materialises; undefined for other volume types. */
export function volumePluginDir(volume: Volume): VolumePluginDir | undefined {
  if (volume.projected) return 'kubernetes.io~projected';
  if (volume.configMap) return 'kubernetes.io~configmap';
  if (volume.secret) return 'kubernetes.io~secret';
  if (volume.downwardAPI) return 'kubernetes.io~downward-api';
  return undefined;
}

/** The payload of one volume; throws (with Kubernetes' message) when any part of it fails. */
export async function collectVolume(volume: Volume, ctx: CollectContext): Promise<Map<string, FileProjection>> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  if (volume.projected) return collectProjected(volume.projected, ctx);
  if (volume.configMap) {
    const src = volume.configMap;
    const mode = modeOrDefault(src.defaultMode);
    const cm = await getOptional(() => ctx.objects.getConfigMap(ns, src.name ?? ''), src.optional);
    return configMapPayload(src.items, cm, mode, src.optional ?? false);
  }
  if (volume.secret) {
    const src = volume.secret;
    const mode = modeOrDefault(src.defaultMode);
    const secret = await getOptional(() => ctx.objects.getSecret(ns, src.secretName ?? ''), src.optional);
    return secretPayload(src.items, secret, mode, src.optional ?? false);
  }
  if (volume.downwardAPI) {
    return downwardAPIPayload(volume.downwardAPI.items, ctx.pod, ctx.nodeAllocatable, modeOrDefault(volume.downwardAPI.defaultMode));
  }
  throw new TypeError(`volume ${volume.name} is not a volume type the agent handles`);
}

export async function collectProjected(source: ProjectedVolumeSource, ctx: CollectContext): Promise<Map<string, FileProjection>> {
  if (source.defaultMode === undefined || source.defaultMode === null) {
    // the API server defaults it; an object without it did not come through defaulting
    throw new AgentError('ERR_INVALID_VOLUME', 'no defaultMode used, not even the default value for it');
  }
  const defaultMode = source.defaultMode;
  const sources = source.sources ?? [];
  // fetch every source at once, merge in order
  const results = await Promise.allSettled(sources.map((s) => collectProjection(s, defaultMode, ctx)));
  const payload = new Map<string, FileProjection>();
  const errors: Error[] = [];
  for (const r of results) {
    if (r.status === 'rejected') errors.push(r.reason instanceof Error ? r.reason : new Error(String(r.reason)));
    else for (const [path, file] of r.value) payload.set(path, file);
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}

async function collectProjection(
  source: VolumeProjection,
  defaultMode: number,
  ctx: CollectContext,
): Promise<Map<string, FileProjection>> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  if (source.secret) {
    const s = source.secret;
    const secret = await getOptional(() => ctx.objects.getSecret(ns, s.name ?? ''), s.optional);
    return secretPayload(s.items, secret, defaultMode, s.optional ?? false);
  }
  if (source.configMap) {
    const s = source.configMap;
    const cm = await getOptional(() => ctx.objects.getConfigMap(ns, s.name ?? ''), s.optional);
    return configMapPayload(s.items, cm, defaultMode, s.optional ?? false);
  }
  if (source.downwardAPI) {
    return downwardAPIPayload(source.downwardAPI.items, ctx.pod, ctx.nodeAllocatable, defaultMode);
  }
  if (source.serviceAccountToken) {
    return tokenPayload(source.serviceAccountToken, defaultMode, ctx);
  }
  if (source.clusterTrustBundle) {
    throw new AgentError('ERR_INVALID_VOLUME', 'ClusterTrustBundle projection is not supported by boundtoken');
  }
  return new Map();
}

async function tokenPayload(
  tp: ServiceAccountTokenProjection,
  defaultMode: number,
  ctx: CollectContext,
): Promise<Map<string, FileProjection>> {
  const pod = ctx.pod;
  const mode = ctx.fsUser !== undefined || ctx.fsGroup !== undefined ? TOKEN_MODE_WITH_OWNERSHIP : defaultMode;
  const spec = {
    expirationSeconds: tp.expirationSeconds,
    boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
  } as TokenRequest['spec'];
  // an empty audience means "the API server's audiences": send none
  if (tp.audience) spec.audiences = [tp.audience];
  const request: TokenRequest = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec };
  const tr = await ctx.tokens.getServiceAccountToken(pod.metadata?.namespace ?? 'default', pod.spec?.serviceAccountName ?? '', request);
  const file: FileProjection = { data: tr.status!.token, mode };
  if (ctx.fsUser !== undefined) file.fsUser = ctx.fsUser;
  return new Map([[tp.path, file]]);
}

async function getOptional<T extends ConfigMap | Secret>(get: () => Promise<T>, optional: boolean | undefined): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (optional && isNotFound(err)) return undefined;
    throw err;
  }
}

/** configmap.MakePayload. */
export function configMapPayload(
  items: KeyToPath[] | undefined,
  cm: ConfigMap | undefined,
  defaultMode: number,
  optional: boolean,
): Map<string, FileProjection> {
  const data = cm?.data ?? {};
  const binary = cm?.binaryData ?? {};
  const payload = new Map<string, FileProjection>();
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) payload.set(k, { data: Buffer.from(v), mode: defaultMode });
    for (const [k, v] of Object.entries(binary)) payload.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    let bytes: Buffer;
    if (Object.hasOwn(data, item.key)) bytes = Buffer.from(data[item.key]!);
    else if (Object.hasOwn(binary, item.key)) bytes = Buffer.from(binary[item.key]!, 'base64');
    else if (optional) continue;
    else throw new AgentError('ERR_MISSING_KEY', `configmap references non-existent config key: ${item.key}`);
    payload.set(item.path, { data: bytes, mode: item.mode ?? defaultMode });
  }
  return payload;
}

/** secret.MakePayload. */
export function secretPayload(
  items: KeyToPath[] | undefined,
  secret: Secret | undefined,
  defaultMode: number,
  optional: boolean,
): Map<string, FileProjection> {
  const data = secret?.data ?? {};
  const payload = new Map<string, FileProjection>();
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) payload.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    if (!Object.hasOwn(data, item.key)) {
      if (optional) continue;
      throw new AgentError('ERR_MISSING_KEY', `references non-existent secret key: ${item.key}`);
    }
    payload.set(item.path, { data: Buffer.from(data[item.key]!, 'base64'), mode: item.mode ?? defaultMode });
  }
  return payload;
}

/** downwardapi.CollectData: every item is resolved; all errors are reported together. */
export function downwardAPIPayload(
  items: DownwardAPIVolumeFile[] | undefined,
  pod: Pod,
  allocatable: NodeAllocatable,
  defaultMode: number,
): Map<string, FileProjection> {
  const payload = new Map<string, FileProjection>();
  const errors: Error[] = [];
  for (const item of items ?? []) {
    const mode = item.mode ?? defaultMode;
    let value = '';
    try {
      if (item.fieldRef) value = extractFieldPathAsString(pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef) value = extractResourceValue(item.resourceFieldRef, pod, allocatable);
    } catch (err) {
      errors.push(err as Error);
    }
    payload.set(cleanPath(item.path), { data: Buffer.from(value), mode });
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}

function modeOrDefault(mode: number | undefined): number {
  return mode ?? DEFAULT_MODE;
}

/**
 * FsUserFrom (pkg/volume/util): the effective runAsUser when every init and regular container runs
 * as the same one (container securityContext over pod securityContext), otherwise undefined.
 */
export function fsUserFrom(pod: Pod): number | undefined {
  let fsUser: number | undefined;
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers) {
    const runAsUser = c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
    if (runAsUser === undefined || runAsUser === null) return undefined;
    if (fsUser !== undefined && fsUser !== runAsUser) return undefined;
    fsUser = runAsUser;
  }
  return fsUser;
}

/** The pod's fsGroup (securityContext.fsGroup). */
export function fsGroupFrom(pod: Pod): number | undefined {
  const g = pod.spec?.securityContext?.fsGroup;
  return g === undefined || g === null ? undefined : g;
}
