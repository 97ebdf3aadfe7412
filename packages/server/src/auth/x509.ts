/**
 * Client certificate authentication: a certificate that chains to `--client-ca-file` names the
 * user in its subject CN and the groups in its O attributes, and is named itself by the SHA-256
 * of its DER in the `credential-id` extra (k8s.io/apiserver x509 authenticator,
 * CommonNameUserConversion). TLS does the verification (`requestCert`, with the client CA as
 * `ca`); the result is cached per connection.
 */
import { hash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { EXTRA_CREDENTIAL_ID } from '@boundtoken/token';
import type { UserInfo } from './types.js';

const cache = new WeakMap<TLSSocket, UserInfo | null>();

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The user of a verified client certificate on this connection, or undefined. */
export function userFromClientCertificate(socket: TLSSocket): UserInfo | undefined {
  const cached = cache.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let user: UserInfo | null = null;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (name) {
      // the leaf certificate's fingerprint, lower-case hex (Kubernetes 1.32, PR #125634)
      const id = `X509SHA256=${hash('sha256', cert.raw, 'hex')}`;
      user = { name, uid: '', groups: asList(cert.subject.O), extra: { [EXTRA_CREDENTIAL_ID]: [id] } };
    }
  }
  cache.set(socket, user);
  return user ?? undefined;
}
