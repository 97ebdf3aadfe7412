/**
 * @boundtoken/server — the Kubernetes-compatible token authority: the API server, the token
 * APIs, OIDC discovery, authentication, authorization, admission and controllers.
 */
export { startServer, KUBERNETES_VERSION } from './server.js';
export type { ServerHandle, StartOptions } from './server.js';
export { resolveServerOptions, parseDurationSeconds, OptionsError, DEFAULT_ISSUER } from './options.js';
export type { ServerFlags, ServerOptions, StorageBackend, AuthorizationMode } from './options.js';
export { bootstrapPki, mintKubeconfig, pkiPaths, writeAdminKubeconfig, servingSans } from './pki/bootstrap.js';
export type { Pki, PkiPaths, MintOptions } from './pki/bootstrap.js';
export { kubeconfigYaml } from './pki/kubeconfig.js';
export { atomicWriteFileSync } from './util/atomic-write.js';
export { parseGoBool } from './util/go-bool.js';
export { TOKEN_REVIEW_STALENESS_MS } from './http/app.js';
