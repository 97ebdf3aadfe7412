/**
 * `boundtoken server`: wires the store, the informer caches, authentication, authorization,
 * admission, the controllers and the HTTP front together, and starts listening.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openApiV3Document, openApiV3Index, type OpenApiResource } from '@boundtoken/api/schema';
import type { Namespace, Node, Pod, Secret, ServiceAccount } from '@boundtoken/api';
import { pathNotFound } from '@boundtoken/api';
import { createMemoryStore, openEtcdStore, openSqliteStore, type Store } from '@boundtoken/store';
import { createSigner, createSigningPool, type SigningPool } from '@boundtoken/token';
import { AdmissionChain } from './admission/types.js';
import { namespaceLifecycle } from './admission/namespace-lifecycle.js';
import { serviceAccountAdmission } from './admission/service-account.js';
import { nodeRestrictionAdmission, rbacEscalationAdmission } from './admission/authorization.js';
import { RequestAuthenticator, type TokenAuthenticator } from './auth/authenticate.js';
import { createTokenFileAuthenticator } from './auth/token-file.js';
import { createAuthorizer, forbiddenError, type AuthorizerChain } from './authz/index.js';
import { controllerContext } from './controllers/context.js';
import { createEventRecorder } from './controllers/events.js';
import { startEventTTL } from './controllers/event-ttl.js';
import { startNamespaceController } from './controllers/namespace.js';
import { startNodeLifecycle } from './controllers/node-lifecycle.js';
import { startPodGC } from './controllers/pod-gc.js';
import { reconcileRbac, startClusterRoleAggregation } from './controllers/rbac.js';
import { startScheduler } from './controllers/scheduler.js';
import { startCompactor } from './controllers/compaction.js';
import { startLeaderElection, type LeaderElector } from './controllers/leader-election.js';
import { startDefaultServiceAccounts, startRootCAPublisher, startTokenController } from './controllers/service-accounts.js';
import { Discovery, type ServedResource } from './discovery/discovery.js';
import { createApiServer, type NonResourceHandler } from './http/app.js';
import { customEndpoints } from './http/endpoints.js';
import { sendJson } from './http/respond.js';
import { bootstrapPki, writeAdminKubeconfig, type Pki } from './pki/bootstrap.js';
import { OptionsError, type ServerOptions } from './options.js';
import { Registry, rfc3339 } from './registry/registry.js';
import { coreResources } from './registry/resources/core.js';
import { coordinationResources, rbacResources } from './registry/resources/rbac.js';
import type { ResourceDef } from './registry/types.js';
import { SYSTEM_NAMESPACES } from './registry/types.js';
import { createServiceAccountAuthenticator, LEGACY_TOKEN_LAST_USED_LABEL, type ServiceAccountAuthenticator } from './tokens/authenticator.js';
import { loadTokenConfig, type TokenConfig } from './tokens/config.js';
import { OIDC_CACHE_CONTROL, OIDC_CONFIGURATION_PATHS, OIDC_JWKS_PATHS, renderOidc } from './tokens/oidc.js';
import type { FastifyInstance } from 'fastify';

/** The Lease the controller replicas elect a leader with (kube-system). */
export const CONTROLLER_LEASE = 'boundtoken-controller-manager';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-boundtoken' };

export interface ServerHandle {
  /** `https://host:port` clients use. */
  url: string;
  port: number;
  options: ServerOptions;
  pki: Pki;
  registry: Registry;
  store: Store;
  tokenConfig: TokenConfig;
  authorizer: AuthorizerChain;
  adminKubeconfig: string;
  app: FastifyInstance;
  /** True when this replica runs the controllers (always, unless several replicas share etcd). */
  isLeader(): boolean;
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** A store to use instead of opening one (tests). */
  store?: Store;
  /** Signing workers (default: one per core). */
  signingWorkers?: number;
}

function versionInfo(): object {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-11-28T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${process.platform === 'win32' ? 'windows' : process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

function readFlagFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

async function openStore(opts: ServerOptions, log: Logger): Promise<Store> {
  switch (opts.storageBackend) {
    case 'memory':
      return createMemoryStore();
    case 'sqlite': {
      const dir = join(opts.dataDir, 'data');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return openSqliteStore({ path: join(dir, 'store.db') });
    }
    case 'etcd': {
      const read = (f: string | undefined, flag: string): string | undefined => (f ? readFlagFile(f, flag) : undefined);
      const ca = read(opts.etcd.caFile, 'etcd-cafile');
      const cert = read(opts.etcd.certFile, 'etcd-certfile');
      const key = read(opts.etcd.keyFile, 'etcd-keyfile');
      const store = await openEtcdStore({
        endpoints: opts.etcd.servers,
        prefix: opts.etcd.prefix,
        ...(ca || cert || key ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
      });
      // wait for etcd, saying so
      for (let attempt = 0; ; attempt++) {
        try {
          await store.ping();
          return store;
        } catch (err) {
          if (attempt === 0) log.warn({ endpoints: opts.etcd.servers }, `waiting for etcd at ${opts.etcd.servers.join(',')}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** Math.min(attempt, 4), 10_000)));
        }
      }
    }
  }
}

function served(def: ResourceDef): ServedResource {
  const subresources = Object.entries(def.subresources ?? {}).map(([name, s]) => ({
    name,
    kind: s.kind,
    ...(s.group !== undefined ? { group: s.group } : {}),
    ...(s.version !== undefined ? { version: s.version } : {}),
    verbs: s.verbs,
  }));
  return {
    group: def.group,
    version: def.version,
    resource: def.resource,
    kind: def.kind,
    singular: def.singular,
    namespaced: def.namespaced,
    verbs: def.verbs,
    shortNames: def.shortNames,
    categories: def.categories,
    subresources,
  };
}

/** The OpenAPI v3 index and per-group-version documents, rendered once. */
function renderOpenApi(discovery: Discovery): { index: string; docs: Map<string, { body: string; hash: string }> } {
  const docs = new Map<string, { body: string; hash: string }>();
  for (const gv of discovery.groupVersions()) {
    const resources: OpenApiResource[] = discovery
      .all()
      .filter((r) => r.group === gv.group && r.version === gv.version)
      .map((r) => ({
        kind: r.kind,
        resource: r.resource,
        namespaced: r.namespaced,
        verbs: r.verbs,
        ...(r.verbs.includes('list') ? { listKind: `${r.kind}List` } : {}),
        subresources: r.subresources.map((s) => ({ name: s.name, kind: s.kind, verbs: s.verbs, ...(s.group !== undefined ? { group: s.group } : {}), ...(s.version !== undefined ? { version: s.version } : {}) })),
      }));
    const body = JSON.stringify(openApiV3Document(gv, resources));
    const path = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    docs.set(path, { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() });
  }
  const index = JSON.stringify(openApiV3Index([...docs.entries()].map(([path, d]) => ({ path, hash: d.hash }))));
  return { index, docs };
}

export async function startServer(opts: ServerOptions, start: StartOptions): Promise<ServerHandle> {
  const { log } = start;
  const closers: (() => unknown)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'error while shutting down');
      }
    }
  };
  let leaderElector: LeaderElector | undefined;
  try {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const pki = await bootstrapPki({ dataDir: opts.dataDir, tlsSans: opts.tlsSans });
    if (pki.created.length > 0) log.info({ dataDir: opts.dataDir }, `bootstrapped ${pki.created.join(', ')}`);
    const tokenConfig = loadTokenConfig(opts, pki.saKeyPem);
    for (const w of tokenConfig.warnings) log.warn(w);

    const tls = opts.tlsCertFile
      ? { cert: readFlagFile(opts.tlsCertFile, 'tls-cert-file'), key: readFlagFile(opts.tlsPrivateKeyFile!, 'tls-private-key-file') }
      : { cert: pki.serving.certPem, key: pki.serving.keyPem };
    const clientCa = [pki.ca.certPem, ...(opts.clientCaFile ? [readFlagFile(opts.clientCaFile, 'client-ca-file')] : [])].join('\n');
    const tokenFile = opts.tokenAuthFile ? createTokenFileAuthenticator(opts.tokenAuthFile) : undefined;

    const store = start.store ?? (await openStore(opts, log));
    if (!start.store) closers.push(() => store.close());

    const admission = new AdmissionChain([]);
    const defs = [...coreResources, ...rbacResources, ...coordinationResources];
    const registry = new Registry({
      store,
      defs,
      admission,
      indexers: {
        pods: { 'spec.nodeName': (p) => [((p as Pod).spec?.nodeName ?? '')] },
      },
      onRelist: (resource, err) => log.warn({ resource, err: err.message }, 'watch cache fell behind; relisting'),
    });
    await registry.start();
    closers.push(() => registry.stop());

    const authorizer = createAuthorizer({
      modes: opts.authorizationModes,
      caches: {
        roles: registry.cache('roles'),
        clusterRoles: registry.cache('clusterroles'),
        roleBindings: registry.cache('rolebindings'),
        clusterRoleBindings: registry.cache('clusterrolebindings'),
        pods: registry.cache('pods'),
      },
    });
    closers.push(() => authorizer.close());

    admission.add(namespaceLifecycle(registry.cache<Namespace>('namespaces')));
    admission.add(serviceAccountAdmission(registry.cache<ServiceAccount>('serviceaccounts')));
    admission.add(nodeRestrictionAdmission(registry.cache<Pod>('pods'), registry.cache<Node>('nodes')));
    admission.add(rbacEscalationAdmission(authorizer, () => authorizer.rbac));

    const pool: SigningPool = createSigningPool(tokenConfig.signingKey, { size: start.signingWorkers ?? Math.max(1, availableParallelism()) });
    closers.push(() => pool.close());
    const inlineSigner = createSigner(tokenConfig.signingKey);

    const secretsDef = registry.def('', 'secrets')!;
    const saAuthenticator: ServiceAccountAuthenticator = createServiceAccountAuthenticator({
      config: tokenConfig,
      caches: {
        serviceAccounts: registry.cache<ServiceAccount>('serviceaccounts'),
        pods: registry.cache<Pod>('pods'),
        secrets: registry.cache<Secret>('secrets'),
        nodes: registry.cache<Node>('nodes'),
      },
      onStale: (subject, seconds) => log.debug({ subject, secondsAfterWarning: seconds }, 'stale service account token used'),
      onLegacyUse: (secret) => {
        const today = rfc3339(new Date()).slice(0, 10);
        if (secret.metadata?.labels?.[LEGACY_TOKEN_LAST_USED_LABEL] === today) return;
        registry
          .guaranteedUpdate<Secret>(secretsDef, controllerContext('legacy-token-tracking'), secret.metadata!.namespace!, secret.metadata!.name!, (s) => {
            s.metadata!.labels = { ...(s.metadata!.labels ?? {}), [LEGACY_TOKEN_LAST_USED_LABEL]: today };
            return s;
          })
          .catch(() => undefined);
      },
    });
    closers.push(() => saAuthenticator.close());

    const tokenAuthenticators: TokenAuthenticator[] = [];
    if (tokenFile) {
      const apiAuds = tokenConfig.apiAudiences;
      tokenAuthenticators.push({
        name: 'token-file',
        // audience-agnostic authenticators answer for the API audiences only
        authenticate: (token, audiences) => {
          const r = tokenFile.authenticate(token);
          if (r.kind !== 'ok') return r;
          const requested = audiences && audiences.length > 0 ? audiences : apiAuds;
          const auds = requested.filter((a) => apiAuds.includes(a));
          return auds.length > 0 ? { ...r, audiences: auds } : { kind: 'none' };
        },
      });
    }
    tokenAuthenticators.push(saAuthenticator);
    const authenticator = new RequestAuthenticator({
      clientCertificates: true,
      tokenAuthenticators,
      anonymous: opts.anonymousAuth,
      apiAudiences: tokenConfig.apiAudiences,
    });

    // bootstrap objects, then the controllers
    const nsDef = registry.def('', 'namespaces')!;
    for (const name of SYSTEM_NAMESPACES) {
      if (!registry.get(nsDef, '', name)) {
        await registry.create(nsDef, controllerContext('apiserver'), '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }).catch((err: unknown) => {
          if ((err as { code?: number }).code !== 409) throw err;
        });
      }
    }
    await reconcileRbac(registry, { unauthenticatedIssuerDiscovery: opts.anonymousAuth }, log);

    const recorder = createEventRecorder(registry, 'default-scheduler', (err) => log.debug({ err }, 'recording an event failed'));
    const startControllers = (): { stop(): void }[] => [
      startScheduler(registry, recorder, log),
      startNamespaceController(registry, log),
      startPodGC(registry, log),
      startNodeLifecycle(registry, log),
      startEventTTL(registry),
      startClusterRoleAggregation(registry, log),
      startDefaultServiceAccounts(registry, log),
      startRootCAPublisher(registry, pki.ca.certPem, log),
      startTokenController(registry, inlineSigner, pki.ca.certPem, log),
      ...(store.backend === 'etcd' ? [startCompactor(store, log)] : []),
    ];
    let controllers: { stop(): void }[] = [];
    const stopControllers = (): void => {
      for (const c of controllers.splice(0)) c.stop();
    };
    closers.push(stopControllers);
    if (store.backend === 'etcd') {
      // several replicas may share this store: the controllers run on the elected one only
      const elector = startLeaderElection({
        registry,
        namespace: 'kube-system',
        name: CONTROLLER_LEASE,
        identity: `${hostname()}_${randomUUID()}`,
        onStartedLeading: () => {
          controllers = startControllers();
        },
        onStoppedLeading: stopControllers,
        onNewLeader: (identity) => log.info({ leader: identity }, 'controllers are led by another replica'),
        log,
      });
      leaderElector = elector;
      closers.push(() => elector.stop());
    } else {
      controllers = startControllers();
    }

    const { endpoints, resources: virtual } = customEndpoints({
      registry,
      authenticator,
      authorizer,
      tokens: { registry, config: tokenConfig, pool },
      apiAudiences: tokenConfig.apiAudiences,
    });
    const discovery = new Discovery([...defs.map(served), ...virtual]);
    const openapi = renderOpenApi(discovery);

    let listenPort = opts.securePort;
    const host = opts.externalHostname ?? (opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress);
    // an external hostname that already names a port is used as given (net.SplitHostPort succeeds)
    const hasPort = /^\[[^\]]*\]:[^:]*$|^[^:[\]]*:[^:]*$/.test(host);
    const hostPort = (): string =>
      hasPort ? host : host.includes(':') && !host.startsWith('[') ? `[${host}]:${listenPort}` : `${host}:${listenPort}`;

    const nonResource = new Map<string, NonResourceHandler>();
    nonResource.set('/version', (_req, reply) => sendJson(reply, 200, versionInfo()));
    nonResource.set('/openapi/v2', (req, reply) => {
      // kubectl only needs to learn that no v2 document is worth parsing (reference: empty octet-stream)
      if ((req.headers.accept ?? '').includes('json')) return sendJson(reply, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion }, paths: {}, definitions: {} });
      return reply.code(200).header('Content-Type', 'application/octet-stream').send(Buffer.alloc(0));
    });
    nonResource.set('/openapi/v3', (_req, reply) => sendJson(reply, 200, openapi.index));
    let oidcReason: string | undefined;
    const oidcHandlers = (): void => {
      const rendered = renderOidc(tokenConfig, hostPort());
      if (!rendered.docs) {
        oidcReason = rendered.reason;
        return;
      }
      const { configuration, jwks } = rendered.docs;
      const serveConfiguration: NonResourceHandler = (_req, reply) =>
        reply.code(200).header('Content-Type', 'application/json').header('Cache-Control', OIDC_CACHE_CONTROL).send(configuration);
      const serveJwks: NonResourceHandler = (_req, reply) =>
        reply.code(200).header('Content-Type', 'application/jwk-set+json').header('Cache-Control', OIDC_CACHE_CONTROL).send(jwks);
      // with and without a trailing slash, as go-restful serves them (the Java client asks with one)
      for (const path of OIDC_CONFIGURATION_PATHS) nonResource.set(path, serveConfiguration);
      for (const path of OIDC_JWKS_PATHS) nonResource.set(path, serveJwks);
    };

    const app = createApiServer({
      tls: { ...tls, clientCa },
      registry,
      discovery,
      authenticator,
      authorizer,
      custom: endpoints,
      nonResource,
      nonResourcePrefixes: [
        [
          '/openapi/v3/',
          (req, reply) => {
            const path = req.url.split('?')[0]!.slice('/openapi/v3/'.length);
            const doc = openapi.docs.get(path);
            if (!doc) return sendJson(reply, 404, pathNotFound().status, [], 'application/json; charset=utf-8');
            const hashed = new URLSearchParams(req.url.split('?')[1] ?? '').get('hash') === doc.hash;
            reply.header('Cache-Control', hashed ? 'public, immutable' : 'no-cache, private');
            reply.header('Etag', `"${doc.hash}"`);
            return sendJson(reply, 200, doc.body);
          },
        ],
      ],
      health: {
        livez: [{ name: 'ping', check: async () => undefined }],
        readyz: [
          { name: 'ping', check: async () => undefined },
          { name: store.backend === 'etcd' ? 'etcd' : 'storage', check: () => store.ping() },
          {
            name: 'informer-sync',
            check: async () => {
              // the caches hold every write the store has acknowledged (etcd: within the barrier's 2 s)
              if ((await registry.sync()) !== 'fresh') throw new Error('the informer caches lag behind the store');
            },
          },
        ],
      },
      log,
      externalAddress: hostPort,
      forbidden: (attrs, reason) => forbiddenError(attrs, reason),
    });
    closers.push(() => app.close());

    await app.listen({ port: opts.securePort, host: opts.bindAddress });
    const address = app.server.address();
    listenPort = typeof address === 'object' && address ? address.port : opts.securePort;
    oidcHandlers();
    if (oidcReason) {
      log.error(`Could not construct pre-rendered responses for ServiceAccountIssuerDiscovery endpoints. Endpoints will not be enabled. Error: ${oidcReason}`);
    }
    const url = `https://${hostPort()}`;
    const adminKubeconfig = writeAdminKubeconfig(pki, url);
    log.info({ url, dataDir: opts.dataDir, storage: store.backend, issuer: tokenConfig.issuers[0] }, 'boundtoken server listening');
    return {
      url,
      port: listenPort,
      options: opts,
      pki,
      registry,
      store,
      tokenConfig,
      authorizer,
      adminKubeconfig,
      app,
      isLeader: () => leaderElector?.isLeader() ?? true,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
