/**
 * Go's `net/url.Parse`, as far as kube-apiserver's issuer and JWKS URI checks depend on it (flag
 * validation, and whether OIDC discovery is served): whether a string parses, Go's error text when
 * it does not (`parse "<url>": <reason>`), the scheme, the raw query and the fragment. WHATWG's
 * `new URL` disagrees in both directions (it trims spaces, which Go refuses in a host, and refuses
 * a port above 65535, which Go accepts), so checks made with it would start a server, or serve
 * discovery, where kube-apiserver does not, or the reverse.
 */

import { goQuote } from '@boundtoken/api';

export type GoUrl =
  | {
      ok: true;
      /** Lower-cased, as url.Parse leaves it. */
      scheme: string;
      /** `RawQuery`: after the first `?` (empty for none, and for a lone trailing `?`). */
      rawQuery: string;
      /** After the `#`, still escaped: empty exactly when Go's `Fragment` is. */
      fragment: string;
      /** The URL with its scheme lower-cased: what `u.String()` prints for URLs in normal form. */
      text: string;
    }
  | { ok: false; error: string };

const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** getScheme: a scheme is letters, then letters, digits, '+', '-' or '.', up to the first ':'. */
function splitScheme(raw: string): { scheme: string; rest: string } | string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (isAlpha(c)) continue;
    if (isDigit(c) || c === '+' || c === '-' || c === '.') {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') return i === 0 ? 'missing protocol scheme' : { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

/** unescape's checks: well-formed %XX escapes; in a host, no character that must be escaped. */
function checkEscapes(s: string, host: boolean): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      if (!isHex(s[i + 1]) || !isHex(s[i + 2])) return `invalid URL escape ${goQuote(s.slice(i, i + 3))}`;
      if (host && parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== '%25') return `invalid URL escape ${goQuote(s.slice(i, i + 3))}`;
      i += 2;
    } else if (host && c < '\x80' && !isAlpha(c) && !isDigit(c) && !`!$&'()*+,;=:[]<>"-_.~`.includes(c)) {
      return `invalid character ${goQuote(c)} in host name`;
    }
  }
  return undefined;
}

const validOptionalPort = (port: string): boolean => port === '' || /^:\d*$/.test(port);

function checkHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const end = host.lastIndexOf(']');
    if (end < 0) return "missing ']' in host";
    const port = host.slice(end + 1);
    if (!validOptionalPort(port)) return `invalid port ${goQuote(port)} after host`;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !validOptionalPort(host.slice(colon))) return `invalid port ${goQuote(host.slice(colon))} after host`;
  }
  return checkEscapes(host, true);
}

function parse(raw: string): { scheme: string; rawQuery: string } | string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'net/url: invalid control character in URL';
  }
  if (raw === '*') return { scheme: '', rawQuery: '' };
  const split = splitScheme(raw);
  if (typeof split === 'string') return split;
  const scheme = split.scheme.toLowerCase();
  let rest = split.rest;
  const q = rest.indexOf('?');
  const rawQuery = q < 0 ? '' : rest.slice(q + 1);
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme, rawQuery }; // opaque: "mailto:x"
    if (rest.split('/', 1)[0]!.includes(':')) return 'first path segment in URL cannot contain colon';
  }
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    rest = slash < 0 ? '' : authority.slice(slash);
    if (slash >= 0) authority = authority.slice(0, slash);
    const at = authority.lastIndexOf('@');
    const hostError = checkHost(authority.slice(at + 1));
    if (hostError) return hostError;
    if (at >= 0 && !/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(authority.slice(0, at))) return 'net/url: invalid userinfo';
  }
  return checkEscapes(rest, false) ?? { scheme, rawQuery };
}

/** `url.Parse(raw)`: the lower-cased scheme, or Go's error text. */
export function goParseUrl(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  const [u, fragment] = hash < 0 ? [raw, undefined] : [raw.slice(0, hash), raw.slice(hash + 1)];
  const parsed = parse(u);
  if (typeof parsed === 'string') return { ok: false, error: `parse ${goQuote(u)}: ${parsed}` };
  const fragmentError = fragment === undefined ? undefined : checkEscapes(fragment, false);
  if (fragmentError) return { ok: false, error: `parse ${goQuote(raw)}: ${fragmentError}` };
  const { scheme, rawQuery } = parsed;
  return { ok: true, scheme, rawQuery, fragment: fragment ?? '', text: scheme + raw.slice(scheme.length) };
}
