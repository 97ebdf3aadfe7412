/**
 * The Fastify plugin (`@boundtoken/client/fastify`): an `onRequest` hook that verifies the token
 * and sets `request.identity`, or answers 401/503. Fastify is a peer dependency for types only.
 *
 * ```ts
 * await app.register(boundtokenAuth, { verifier, header: 'x-auth-token' });
 * app.get('/', (req) => req.identity!.serviceAccount.name);
 * ```
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { VerificationError } from '../verify/errors.js';
import type { VerifiedIdentity } from '../verify/identity.js';
import { authenticate, rejection, type AuthOptions } from './auth.js';
import { check } from './http.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `@boundtoken/client`: who the request's token belongs to. */
    identity?: VerifiedIdentity;
  }
}

export type FastifyAuthOptions = AuthOptions;

/** An `onRequest` hook for single routes: `app.get('/x', { onRequest: authHook(opts) }, h)`. */
export function authHook(options: FastifyAuthOptions): onRequestAsyncHookHandler {
  check(options);
  return async function boundtokenAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      request.identity = await authenticate(request.headers, options);
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      options.onReject?.(err);
      const r = rejection(err, options.realm);
      await reply.code(r.statusCode).headers(r.headers).send(r.body);
    }
  };
}

/**
 * Plugin form: every route of the instance it is registered on (and its children) requires a
 * verified token. It is not encapsulated (like `fastify-plugin`), so register it inside your own
 * plugin to protect only some routes.
 */
export const boundtokenAuth: FastifyPluginCallback<FastifyAuthOptions> = Object.assign(
  function boundtokenAuth(fastify: Parameters<FastifyPluginCallback<FastifyAuthOptions>>[0], options: FastifyAuthOptions, done: (err?: Error) => void) {
    try {
      if (!fastify.hasRequestDecorator('identity')) fastify.decorateRequest('identity', undefined);
      fastify.addHook('onRequest', authHook(options));
      done();
    } catch (err) {
      done(err as Error);
    }
  },
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@boundtoken/client' },
);
