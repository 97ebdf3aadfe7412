// Kubernetes API client (shared with the node agent)
export { createKubeClient, parseWarningHeader } from './kube/client.js';
export type { KubeClient, KubeClientOptions } from './kube/client.js';
export { ApiError, isApiError, ConfigError } from './kube/errors.js';
export type { ApiErrorCode, ConfigErrorCode } from './kube/errors.js';
export { resourcePath } from './kube/paths.js';
export { loadKubeconfig, defaultKubeconfigPath } from './kube/kubeconfig.js';
export type { KubeconfigOptions, KubeconfigConnection } from './kube/kubeconfig.js';
export { inClusterConnection, SERVICE_ACCOUNT_DIR } from './kube/in-cluster.js';
export type { InClusterOptions, InClusterConnection } from './kube/in-cluster.js';
export { fileTokenSource } from './kube/file-token.js';
export type { FileTokenSourceOptions } from './kube/file-token.js';
export { createInformer, objectKey } from './kube/informer.js';
export type { Informer, InformerOptions, InformerHandlers } from './kube/informer.js';
export type {
  ClusterConnection,
  PatchType,
  RequestOptions,
  ApiResponse,
  ApiErrorShape,
  WatchOptions,
  WatchHandle,
  KubeClientShape,
  ResourceRef,
  InformerShape,
} from './kube/types.js';
