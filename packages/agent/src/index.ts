export { Agent } from './agent.js';
export type { AgentOptions, AgentStats } from './agent.js';
export { AtomicWriter, validatePath, cleanPath, timestampPrefix, DATA_DIR_NAME, NEW_DATA_DIR_NAME } from './atomic-writer.js';
export type { FileProjection, Payload, SetPerms, WriteResult, AtomicWriterOptions } from './atomic-writer.js';
export { repairVolumeDir } from './volume-repair.js';
export type { RepairResult } from './volume-repair.js';
export { setVolumeOwnership } from './volume-ownership.js';
export { TokenManager, cacheKey, MAX_TTL_MS, GC_PERIOD_MS } from './token-manager.js';
export type { TokenManagerOptions, TokenManagerStats, TokenRequester } from './token-manager.js';
export {
  collectVolume,
  collectProjected,
  configMapPayload,
  secretPayload,
  downwardAPIPayload,
  fsUserFrom,
  fsGroupFrom,
  volumePluginDir,
  DEFAULT_MODE,
} from './volumes/sources.js';
export type { CollectContext, ObjectGetter, TokenGetter, VolumePluginDir } from './volumes/sources.js';
export { extractFieldPathAsString, formatMap } from './volumes/fieldpath.js';
export { extractResourceValue } from './volumes/resource.js';
export type { NodeAllocatable, ResourceFieldSelector } from './volumes/resource.js';
export { WatchingObjectCache, objectRefsOf } from './object-cache.js';
export type { ObjectRef, ObjectKind, ObjectCacheOptions } from './object-cache.js';
export { ApiEventRecorder } from './events.js';
export type { EventRecorder, EventType, ApiEventRecorderOptions } from './events.js';
export { computePodStatus, statusFingerprint, qosClass, REASON_CONTAINERS_NOT_RUN, REASON_CONTAINER_CREATING } from './pod-status.js';
export { PodWorker, podDir, volumeDir } from './pod-worker.js';
export type { PodWorkerDeps, PodWorkerState } from './pod-worker.js';
export { NodeStatusManager, machineResources, KUBELET_VERSION, NODE_LEASE_NAMESPACE } from './node-status.js';
export type { NodeStatusOptions } from './node-status.js';
export { Semaphore } from './semaphore.js';
export { corePath } from './client.js';
export type { AgentClient, Informer, InformerFactory, InformerHandler, RequestOptions, PatchType } from './client.js';
export { AgentError, AggregateAgentError, isNotFound } from './errors.js';
export type { AgentErrorCode } from './errors.js';
export { createJsonLogger, silentLogger } from './logger.js';
export type { Logger, LogLevel, JsonLoggerOptions } from './logger.js';
export { systemClock, Backoff } from './clock.js';
export type { Clock, Random } from './clock.js';
