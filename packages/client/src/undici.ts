// @boundtoken/client/undici — the undici interceptor (undici is a peer dependency, types only)
export { tokenInterceptor } from './outgoing/undici.js';
