/**
 * `tokenInterceptor(source)` (`@boundtoken/client/undici`): an undici 7 interceptor that adds the
 * current token to every request of a dispatcher:
 *
 * ```ts
 * import { Agent, request } from 'undici';
 * const agent = new Agent().compose(tokenInterceptor(tokenFile));
 * await request('https://peer/', { dispatcher: agent });
 * ```
 * undici is a peer dependency for types only.
 */
import type { Dispatcher } from 'undici';
import { checkSource, currentToken, headerFor, type AttachOptions, type TokenSource } from './token-source.js';

type Headers = Dispatcher.DispatchOptions['headers'];

export function tokenInterceptor(source: TokenSource, options: AttachOptions = {}): Dispatcher.DispatcherComposeInterceptor {
  checkSource(source);
  const { name, prefix } = headerFor(options);
  return (dispatch) => (opts, handler) => dispatch({ ...opts, headers: withHeader(opts.headers, name, prefix + currentToken(source), !!options.override) }, handler);
}

function withHeader(headers: Headers, name: string, value: string, override: boolean): Headers {
  if (headers === null || headers === undefined) return { [name]: value };
  if (Array.isArray(headers)) {
    const out: string[] = [];
    let present = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) {
        present = true;
        if (override) continue;
      }
      out.push(headers[i] as string, headers[i + 1] as string);
    }
    if (override || !present) out.push(name, value);
    return out;
  }
  const entries: [string, string | string[] | undefined][] =
    typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? [...(headers as Iterable<[string, string | string[] | undefined]>)]
      : Object.entries(headers as Record<string, string | string[] | undefined>);
  const out: Record<string, string | string[] | undefined> = {};
  let present = false;
  for (const [k, v] of entries) {
    if (k.toLowerCase() === name) {
      present = true;
      if (override) continue;
    }
    out[k] = v;
  }
  if (override || !present) out[name] = value;
  return out;
}
