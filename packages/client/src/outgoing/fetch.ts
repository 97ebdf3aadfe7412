/**
 * `withToken(source, fetch?)`: a `fetch` that puts the current token on every request, read from
 * the source at send time, so a rotated token is used as soon as the `TokenFile` has it.
 */
import { checkSource, currentToken, headerFor, type AttachOptions, type TokenSource } from './token-source.js';

export interface WithTokenOptions extends AttachOptions {
  /** The fetch to wrap (default the global `fetch`; undici's `fetch` works too). */
  fetch?: typeof fetch;
}

export function withToken(source: TokenSource, options: WithTokenOptions = {}): typeof fetch {
  checkSource(source);
  const { name, prefix } = headerFor(options);
  const inner = options.fetch ?? globalThis.fetch;
  if (typeof inner !== 'function') throw new TypeError('withToken: no fetch available');
  const wrapped = (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (options.override || !headers.has(name)) headers.set(name, prefix + currentToken(source));
    return inner(input, { ...init, headers });
  };
  return wrapped as typeof fetch;
}
