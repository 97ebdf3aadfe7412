/**
 * Static token authentication (`--token-auth-file`): a CSV file of `token,user,uid[,"group1,group2"]`
 * lines, exactly kube-apiserver's format (k8s.io/apiserver/pkg/authentication/token/tokenfile).
 */
import { readFileSync } from 'node:fs';
import { OptionsError } from '../options.js';
import type { AuthenticationResult, UserInfo } from './types.js';

/** Splits one CSV record (RFC 4180 quoting). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new Error('extraneous or missing " in quoted-field');
  out.push(cur);
  return out;
}

export interface TokenFileAuthenticator {
  authenticate(token: string): AuthenticationResult;
  readonly size: number;
}

export function parseTokenFile(text: string, path = 'token file'): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    let fields: string[];
    try {
      fields = csvFields(line);
    } catch (err) {
      throw new OptionsError(`${path}: line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
    if (fields.length < 3) throw new OptionsError(`${path}: line ${i + 1}: token file must have at least 3 columns (token, user name, user uid), found ${fields.length}`);
    const [token, name, uid] = fields as [string, string, string];
    if (token === '') throw new OptionsError(`${path}: line ${i + 1}: token file record has an empty token`);
    if (tokens.has(token)) throw new OptionsError(`${path}: line ${i + 1}: duplicate token`);
    const groups = fields.length >= 4 && fields[3] !== '' ? fields[3]!.split(',').map((g) => g.trim()).filter(Boolean) : [];
    tokens.set(token, { name, uid, groups, extra: {} });
  });
  return tokens;
}

export function createTokenFileAuthenticator(path: string): TokenFileAuthenticator {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`--token-auth-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const tokens = parseTokenFile(text, path);
  return {
    size: tokens.size,
    authenticate(token) {
      const user = tokens.get(token);
      if (!user) return { kind: 'none' };
      return { kind: 'ok', user: { ...user, groups: [...user.groups], extra: {} } };
    },
  };
}
