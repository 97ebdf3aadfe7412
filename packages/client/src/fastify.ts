// @boundtoken/client/fastify — the Fastify plugin (fastify is a peer dependency, types only)
export { boundtokenAuth, authHook } from './middleware/fastify.js';
export type { FastifyAuthOptions } from './middleware/fastify.js';
