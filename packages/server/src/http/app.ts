/**
 * The HTTP(S) front of the API server: one dispatch that runs every request through the same
 * steps Kubernetes does — authentication (client certificate, bearer token, anonymous),
 * impersonation, RequestInfo, authorization — before the resource or non-resource handler.
 * Errors of every kind leave as `Status` bodies. Hot requests reach the dispatch by the lean
 * path (lean.ts); the rest through one Fastify instance with one catch-all route.
 */
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { methodNotAllowed, pathNotFound, type StatusError } from '@boundtoken/api';
import { impersonate, type RequestAuthenticator } from '../auth/authenticate.js';
import type { AuthorizationAttributes, Authorizer, UserInfo } from '../auth/types.js';
import type { Freshness } from '../cache/consistent-read.js';
import type { Discovery } from '../discovery/discovery.js';
import type { Registry } from '../registry/registry.js';
import type { ApiReply, ApiRequest } from './exchange.js';
import { leanListener, type RequestListener } from './lean.js';
import { AGGREGATED_DISCOVERY_V2, AGGREGATED_DISCOVERY_V2BETA1, parseAccept, wantsAggregatedDiscovery } from './negotiation.js';
import { requestInfo, type RequestInfo } from './request-info.js';
import { asStatusError, sendJson, sendStatusError, warningHeader } from './respond.js';
import { handleResource, type Query, type ResourceRequest } from './resources.js';

export const BODY_LIMIT = 3 * 1024 * 1024;
const KEEP_ALIVE_TIMEOUT_MS = 90_000;
/** The longest path (after the first `/`) Fastify's router matches; longer ones are its 404. */
const MAX_PATH_LENGTH = 2048;

/** A non-resource endpoint (`/version`, `/openid/v1/jwks`, …): answers GETs. */
export type NonResourceHandler = (req: ApiRequest, reply: ApiReply, user: UserInfo, query: Query) => ApiReply | Promise<ApiReply>;

/** A resource endpoint served by custom code (`tokenreviews`, `serviceaccounts/token`, …). */
export interface CustomEndpoint {
  group: string;
  version: string;
  resource: string;
  /** '' for the resource itself. */
  subresource: string;
  handle(rr: ResourceRequest): Promise<ApiReply>;
}

export interface HealthCheck {
  name: string;
  /** Resolves when healthy; rejects with the reason otherwise. */
  check(): Promise<void>;
}

export interface ApiServerOptions {
  tls?: { key: string; cert: string; clientCa?: string };
  registry: Registry;
  discovery: Discovery;
  authenticator: RequestAuthenticator;
  authorizer: Authorizer;
  custom: CustomEndpoint[];
  nonResource: Map<string, NonResourceHandler>;
  /** Prefix handlers (`/openapi/v3/`), longest first. */
  nonResourcePrefixes?: [string, NonResourceHandler][];
  health: { livez: HealthCheck[]; readyz: HealthCheck[] };
  log: Logger;
  /** `host:port` clients should use (for `/api`'s serverAddressByClientCIDRs). */
  externalAddress: () => string;
  /** The 403 for a denied request (the authorizer's wording and reasons). */
  forbidden: (attrs: AuthorizationAttributes, reason: string) => StatusError;
}

function splitUrl(url: string): { path: string; query: Query } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query: Query = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!(k in query)) query[k] = v;
  }
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // keep the raw path; routing will 404 it
  }
  return { path: decoded, query };
}

function attributesOf(info: RequestInfo, user: UserInfo): AuthorizationAttributes {
  return {
    user,
    verb: info.verb,
    resourceRequest: info.resourceRequest,
    path: info.path,
    namespace: info.namespace,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
    ...(info.fieldSelector ? { fieldSelector: info.fieldSelector } : {}),
  };
}

/**
 * How far behind the store a TokenReview may find the caches of a replica that shares it (etcd):
 * a review sees every write acknowledged more than this long before it arrived. Reviews are the
 * hot path: they do not wait for an etcd read each (see cache/consistent-read.ts); a refusal is
 * confirmed against the current state before it is answered (http/endpoints.ts).
 */
export const TOKEN_REVIEW_STALENESS_MS = 100;

function syncCaches(registry: Registry, info: RequestInfo): Promise<Freshness> {
  const review = info.resourceRequest && info.apiGroup === 'authentication.k8s.io' && info.resource === 'tokenreviews';
  return review ? registry.syncRecent(TOKEN_REVIEW_STALENESS_MS) : registry.sync();
}

const PLAIN_TEXT = 'text/plain; charset=utf-8';

async function runChecks(checks: HealthCheck[], which: string, reply: ApiReply, verbose: boolean, only?: string): Promise<ApiReply> {
  const selected = only ? checks.filter((c) => c.name === only) : checks;
  if (only && selected.length === 0) throw pathNotFound();
  const results = await Promise.all(
    selected.map(async (c) => {
      try {
        await c.check();
        return { name: c.name, ok: true, reason: '' };
      } catch (err) {
        return { name: c.name, ok: false, reason: (err as Error).message };
      }
    }),
  );
  const ok = results.every((r) => r.ok);
  if (!verbose && ok) return reply.code(200).header('Content-Type', PLAIN_TEXT).send(Buffer.from('ok'));
  const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${verbose ? r.reason : 'reason withheld'}`));
  lines.push(ok ? `${which} check passed` : `${which} check failed`);
  return reply
    .code(ok ? 200 : 500)
    .header('Content-Type', PLAIN_TEXT)
    .send(Buffer.from(`${lines.join('\n')}\n`));
}

/** The HTTP(S) server Fastify runs on (its `serverFactory`), with the request listener given. */
function createHttpServer(tls: ApiServerOptions['tls'], listener: RequestListener): http.Server {
  const server = tls
    ? https.createServer(
        {
          key: tls.key,
          cert: tls.cert,
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
          minVersion: 'TLSv1.2',
        },
        listener,
      )
    : http.createServer(listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // watches last as long as they last
  server.requestTimeout = 0;
  return server;
}

export function createApiServer(o: ApiServerOptions): FastifyInstance {
  const customByKey = new Map<string, CustomEndpoint>();
  for (const c of o.custom) customByKey.set(`${c.group}/${c.version}/${c.resource}/${c.subresource}`, c);
  const prefixes = [...(o.nonResourcePrefixes ?? [])].sort((a, b) => b[0].length - a[0].length);

  const nonResource = async (req: ApiRequest, reply: ApiReply, info: RequestInfo, user: UserInfo, query: Query): Promise<ApiReply> => {
    const path = info.path;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method, { group: '', resource: '' });
    const exact = o.nonResource.get(path);
    if (exact) return exact(req, reply, user, query);
    for (const [prefix, handler] of prefixes) if (path.startsWith(prefix)) return handler(req, reply, user, query);

    const verbose = query.verbose !== undefined;
    for (const which of ['livez', 'readyz', 'healthz'] as const) {
      const base = `/${which}`;
      if (path === base || path.startsWith(`${base}/`)) {
        const checks = which === 'livez' ? o.health.livez : o.health.readyz;
        return runChecks(checks, which, reply, verbose, path.length > base.length ? path.slice(base.length + 1) : undefined);
      }
    }
    const accept = parseAccept(req.headers.accept);
    if (path === '/api') {
      const agg = wantsAggregatedDiscovery(accept);
      reply.header('Vary', 'Accept');
      if (agg) return sendJson(reply, 200, o.discovery.aggregatedCore[agg], [], agg === 'v2' ? AGGREGATED_DISCOVERY_V2 : AGGREGATED_DISCOVERY_V2BETA1);
      return sendJson(reply, 200, o.discovery.apiVersionsJson(o.externalAddress()));
    }
    if (path === '/apis') {
      const agg = wantsAggregatedDiscovery(accept);
      reply.header('Vary', 'Accept');
      if (agg) return sendJson(reply, 200, o.discovery.aggregatedGroups[agg], [], agg === 'v2' ? AGGREGATED_DISCOVERY_V2 : AGGREGATED_DISCOVERY_V2BETA1);
      return sendJson(reply, 200, o.discovery.apiGroupListJson);
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const list = o.discovery.resourceListJson('', parts[1]!);
      if (list) return sendJson(reply, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = o.discovery.groupJsonFor(parts[1]!);
      if (g) return sendJson(reply, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = o.discovery.resourceListJson(parts[1]!, parts[2]!);
      if (list) return sendJson(reply, 200, list);
    }
    throw pathNotFound();
  };

  /** Every request, whichever path it came by: authentication → impersonation → RequestInfo → authorization → handler. */
  const dispatch = async (req: ApiRequest, reply: ApiReply): Promise<ApiReply> => {
    const { path, query } = splitUrl(req.url);
    const info = requestInfo(req.method, path, query);
    // API requests see every write acknowledged before they arrived, whichever replica made it
    // (authentication, authorization and the handler all read the caches); a store only this
    // process writes keeps them fresh, with nothing to wait for
    const api = path.startsWith('/api/') || path.startsWith('/apis/');
    const freshness = api && o.registry.sharedStore ? await syncCaches(o.registry, info) : 'fresh';
    // what authentication warns about (a bearer token after two spaces) is answered whatever the
    // answer is, a 401 included, as Kubernetes' warning recorder writes it at once
    const warnings: string[] = [];
    let authenticated: UserInfo;
    try {
      authenticated = await o.authenticator.authenticate(req.socket as TLSSocket, req.headers, warnings);
    } finally {
      if (warnings.length > 0) reply.header('Warning', warnings.map(warningHeader));
    }
    const { user } = impersonate(authenticated, req.headers, o.authorizer);
    const attrs = attributesOf(info, user);
    const decision = o.authorizer.authorize(attrs);
    if (decision.decision !== 'allow') throw o.forbidden(attrs, decision.reason);
    if (!info.resourceRequest) return nonResource(req, reply, info, user, query);

    const rr: ResourceRequest = { req, reply, info, user, query, now: new Date(), warnings, freshness };
    const custom = customByKey.get(`${info.apiGroup}/${info.apiVersion}/${info.resource}/${info.subresource}`);
    if (custom) return custom.handle(rr);
    const def = o.registry.def(info.apiGroup, info.resource);
    if (!def || def.version !== info.apiVersion) throw pathNotFound();
    return handleResource(rr, o.registry, def);
  };

  /** Any error a handler throws, as the `Status` the client gets. */
  const onError = (err: unknown, req: ApiRequest, reply: ApiReply): ApiReply => {
    const status = asStatusError(err);
    if (status.code >= 500) o.log.error({ err, method: req.method, url: req.url }, 'request failed');
    return sendStatusError(reply, status);
  };

  let closing = false;
  const app = Fastify({
    // hot requests take the lean path (lean.ts); Fastify serves the rest
    serverFactory: (fallback: RequestListener) =>
      createHttpServer(
        o.tls,
        leanListener({ dispatch, onError, fallback, bodyLimit: BODY_LIMIT, maxPathLength: MAX_PATH_LENGTH, closing: () => closing }),
      ),
    bodyLimit: BODY_LIMIT,
    logger: false,
    routerOptions: { maxParamLength: MAX_PATH_LENGTH },
    return503OnClosing: true,
    // watches and idle keep-alive connections must not hold shutdown open
    forceCloseConnections: true,
    exposeHeadRoutes: false,
  }) as unknown as FastifyInstance;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, req, reply) => onError(err, req, reply));
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/*',
    handler: (req, reply) => dispatch(req, reply),
  });
  return app;
}
