/**
 * The bound-object checks in claims.go's order, with the service account authenticator over
 * in-memory caches: a UID mismatch is reported before a deletion, for the service account and
 * for the pod, secret and node a token is bound to.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@boundtoken/api';
import { buildClaims, createSigner, loadPublicKeys, loadSigningKey } from '@boundtoken/token';
import { kubernetesTestVectors as V } from '@boundtoken/token/testing';
import { createServiceAccountAuthenticator } from '../../src/tokens/authenticator.js';
import type { TokenConfig } from '../../src/tokens/config.js';
import { memoryCache } from '../authz/memory-cache.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const NOW = Date.parse('2026-01-01T00:10:00Z');
const LONG_AGO = '2026-01-01T00:00:00Z'; // deleted 10 minutes before NOW: past the 60 s leeway
const key = loadSigningKey(V.rsaPrivateKeyPem);
const config: TokenConfig = {
  signingKey: key,
  publicKeys: loadPublicKeys(V.rsaPublicKeyPem),
  issuers: [ISSUER],
  apiAudiences: [ISSUER],
  maxTokenExpirationSeconds: 0,
  extendTokenExpiration: true,
  jwksUri: undefined,
  lookup: true,
  warnings: [],
};

const obj = (kind: string, name: string, uid: string, namespace = 'ns', deleted = false): KubeObject =>
  ({ apiVersion: 'v1', kind, metadata: { name, uid, ...(namespace ? { namespace } : {}), ...(deleted ? { deletionTimestamp: LONG_AGO } : {}) } }) as KubeObject;

async function errorOf(objects: { sa: KubeObject; pod?: KubeObject; secret?: KubeObject; node?: KubeObject }, bound: Partial<Parameters<typeof buildClaims>[0]>): Promise<string> {
  const authenticator = createServiceAccountAuthenticator({
    config,
    caches: {
      serviceAccounts: memoryCache([objects.sa]),
      pods: memoryCache(objects.pod ? [objects.pod] : []),
      secrets: memoryCache(objects.secret ? [objects.secret] : []),
      nodes: memoryCache(objects.node ? [objects.node] : []),
    } as never,
    now: () => NOW,
  });
  try {
    const token = createSigner(key).sign(
      buildClaims({ issuer: ISSUER, audiences: [ISSUER], serviceAccount: { namespace: 'ns', name: 'sa', uid: 'sa-claim' }, expirationSeconds: 3600, ...bound }, NOW / 1000 - 5),
    );
    const r = await authenticator.authenticate(token, [ISSUER]);
    assert.equal(r.kind, 'error', JSON.stringify(r));
    return (r as { message: string }).message;
  } finally {
    authenticator.close();
  }
}

describe('bound-object checks in claims.go order', () => {
  test('service account: the UID before the deletion', async () => {
    assert.equal(await errorOf({ sa: obj('ServiceAccount', 'sa', 'sa-other', 'ns', true) }, {}), 'service account UID (sa-other) does not match claim (sa-claim)');
    assert.equal(await errorOf({ sa: obj('ServiceAccount', 'sa', 'sa-claim', 'ns', true) }, {}), 'service account ns/sa has been deleted');
  });

  test('pod, secret, node: the UID before the deletion', async () => {
    const sa = obj('ServiceAccount', 'sa', 'sa-claim');
    const cases = [
      [{ pod: obj('Pod', 'p', 'p-other', 'ns', true) }, { pod: { name: 'p', uid: 'p-claim' } }, 'pod UID (p-other) does not match service account pod ref claim (p-claim)'],
      [{ secret: obj('Secret', 's', 's-other', 'ns', true) }, { secret: { name: 's', uid: 's-claim' } }, 'secret UID (s-other) does not match service account secret ref claim (s-claim)'],
      [{ node: obj('Node', 'n', 'n-other', '', true) }, { node: { name: 'n', uid: 'n-claim' } }, 'node UID (n-other) does not match service account node ref claim (n-claim)'],
      [{ pod: obj('Pod', 'p', 'p-claim', 'ns', true) }, { pod: { name: 'p', uid: 'p-claim' } }, 'service account token has been invalidated'],
      [{}, { pod: { name: 'p', uid: 'p-claim' } }, 'service account token has been invalidated'],
    ] as const;
    for (const [objects, bound, message] of cases) assert.equal(await errorOf({ sa, ...objects }, bound as never), message, message);
  });
});
