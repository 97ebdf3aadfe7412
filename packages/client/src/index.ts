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

// Reading rotating tokens
export { TokenFile, TokenFileError, readTokenFile } from './token-file.js';
export type { TokenFileOptions, TokenFileStatus, TokenFileErrorCode } from './token-file.js';

// Verifying incoming tokens
export { createVerifier } from './verify/verifier.js';
export type { VerifierOptions } from './verify/verifier.js';
export type { OfflineVerifierOptions } from './verify/offline.js';
export type { OnlineVerifierOptions } from './verify/online.js';
export { TOKEN_REVIEW_PATH } from './verify/online.js';
export type { FetchSettings } from './verify/fetch-json.js';
export type { Verifier, VerifyOptions } from './verify/types.js';
export { VerificationError, isVerificationError } from './verify/errors.js';
export type { VerifyErrorCode } from './verify/errors.js';
export { parseServiceAccountUsername } from './verify/identity.js';
export type { VerifiedIdentity, ObjectIdentity } from './verify/identity.js';

// Middleware for incoming requests (Fastify: '@boundtoken/client/fastify')
export { authMiddleware, withAuth, sendRejection } from './middleware/http.js';
export { authenticate, tokenFromHeaders, rejection } from './middleware/auth.js';
export type { AuthOptions, Rejection } from './middleware/auth.js';

// Outgoing requests (undici interceptor: '@boundtoken/client/undici')
export { withToken } from './outgoing/fetch.js';
export type { WithTokenOptions } from './outgoing/fetch.js';
export type { TokenSource, AttachOptions } from './outgoing/token-source.js';
