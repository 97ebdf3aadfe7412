/**
 * OIDC discovery and the signing/verification key flags (reference/k8s-server.md §6, §8, §9):
 * byte-identical documents for Kubernetes' own test keys, several --service-account-key-files
 * (all listed, old tokens still verify after a signing key rotation), a non-URL issuer (discovery
 * off, tokens still work), and --service-account-max-token-expiration.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, type Store } from '@boundtoken/store';
import { kubernetesTestVectors as V } from '@boundtoken/token/testing';
import { Client } from '../support/http.js';
import { jwtHeader, jwtPayload, podManifest, startTestServer, type TestServer } from '../support/server.js';

let keyDir: string;
const keyFile = (name: string, pem: string): string => {
  const path = join(keyDir, name);
  writeFileSync(path, pem, { mode: 0o600 });
  return path;
};

before(() => {
  keyDir = mkdtempSync(join(tmpdir(), 'boundtoken-keys-'));
});
after(() => rmSync(keyDir, { recursive: true, force: true }));

async function mint(c: Client, ns: string, spec: object = {}): Promise<string> {
  const res = await c.post(`/api/v1/namespaces/${ns}/serviceaccounts/default/token`, { spec });
  assert.equal(res.status, 201, res.text);
  return res.json().status.token;
}

async function review(c: Client, token: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await c.post('/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token } });
  assert.equal(res.status, 201, res.text);
  return res.json().status;
}

describe('OIDC documents and key rotation', () => {
  const store: Store = createMemoryStore();
  let ns: string;
  let oldToken: string;
  const flags = (signing: string, keys: string[]): object => ({
    serviceAccountIssuer: [V.discovery.issuer],
    serviceAccountJwksUri: V.discovery.jwksUri,
    serviceAccountSigningKeyFile: signing,
    serviceAccountKeyFile: keys,
  });

  test('Kubernetes\' test keys: byte-identical configuration and JWKS, content types, caching', async () => {
    const ts = await startTestServer({ store, flags: flags(keyFile('rsa.key', V.rsaPrivateKeyPem), [keyFile('rsa.pub', V.rsaPublicKeyPem), keyFile('ec.pub', V.ecdsaPublicKeyPem)]) });
    try {
      const config = await ts.admin.get('/.well-known/openid-configuration');
      assert.equal(config.status, 200);
      assert.equal(config.headers['content-type'], 'application/json');
      assert.equal(config.headers['cache-control'], 'public, max-age=3600');
      assert.equal(config.text, V.discovery.config);

      const jwks = await ts.admin.get('/openid/v1/jwks');
      assert.equal(jwks.status, 200);
      assert.equal(jwks.headers['content-type'], 'application/jwk-set+json');
      assert.equal(jwks.headers['cache-control'], 'public, max-age=3600');
      assert.equal(jwks.text, V.discovery.jwks);

      // URL boundaries as kube-apiserver serves them
      assert.equal((await ts.admin.get('/.well-known/openid-configuration?x=1')).text, V.discovery.config);
      assert.equal((await ts.admin.get('/openid/v1/jwks?x=1')).text, V.discovery.jwks);
      assert.equal((await ts.admin.get('/.well-known')).status, 404);
      assert.equal((await ts.admin.get('/openid/v1/jwks/foo')).status, 404);
      // with a trailing slash too, as go-restful serves them (the Java client asks so)
      const slashed = await ts.admin.get('/openid/v1/jwks/');
      assert.equal(slashed.headers['content-type'], 'application/jwk-set+json');
      assert.equal(slashed.text, V.discovery.jwks);
      assert.equal((await ts.admin.get('/.well-known/openid-configuration/')).text, V.discovery.config);

      // who may read them: service accounts yes, other users not
      ns = await ts.namespace('oidc');
      await ts.admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }));
      oldToken = await mint(ts.admin, ns, { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
      assert.deepEqual(jwtHeader(oldToken), { alg: 'RS256', kid: V.rsaKeyId });
      assert.equal(jwtPayload(oldToken).iss, V.discovery.issuer);
      assert.equal((await ts.withToken(oldToken).get('/openid/v1/jwks')).text, V.discovery.jwks);
      assert.equal((await ts.withToken(oldToken).get('/.well-known/openid-configuration')).status, 200);
      assert.equal((await ts.withToken(oldToken).get('/openid/v1/jwks/')).status, 200);
      assert.equal((await ts.withToken(oldToken).get('/.well-known/openid-configuration/')).status, 200);
      const bob = await ts.asUser('bob');
      const denied = await bob.get('/openid/v1/jwks');
      assert.equal(denied.status, 403);
      assert.equal(denied.json().message, 'forbidden: User "bob" cannot get path "/openid/v1/jwks"');
      assert.equal((await review(ts.admin, oldToken)).authenticated, true);
    } finally {
      await ts.close();
    }
  });

  test('after rotating the signing key, tokens of the old key still verify while it is listed', async () => {
    const ts = await startTestServer({ store, flags: flags(keyFile('ec.key', V.ecdsaPrivateKeyPem), [keyFile('rsa.pub', V.rsaPublicKeyPem), keyFile('ec.pub', V.ecdsaPublicKeyPem)]) });
    try {
      assert.equal((await ts.admin.get('/openid/v1/jwks')).text, V.discovery.jwks);
      const status = await review(ts.admin, oldToken);
      assert.equal(status.authenticated, true, JSON.stringify(status));
      assert.deepEqual(status.user.extra['authentication.kubernetes.io/pod-name'], ['p']);
      const newToken = await mint(ts.admin, ns);
      assert.deepEqual(jwtHeader(newToken), { alg: 'ES256', kid: V.ecdsaKeyId });
      assert.equal((await review(ts.admin, newToken)).authenticated, true);
      // and the old token works as a bearer credential
      assert.equal((await ts.withToken(oldToken).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {})).status, 201);
    } finally {
      await ts.close();
    }
  });

  test('once the old key is no longer listed, its tokens are refused', async () => {
    const ts = await startTestServer({ store, flags: flags(keyFile('ec.key', V.ecdsaPrivateKeyPem), [keyFile('ec.pub', V.ecdsaPublicKeyPem)]) });
    try {
      const jwks = JSON.parse((await ts.admin.get('/openid/v1/jwks')).text) as { keys: { kid: string }[] };
      assert.deepEqual(jwks.keys.map((k) => k.kid), [V.ecdsaKeyId]);
      const config = JSON.parse((await ts.admin.get('/.well-known/openid-configuration')).text);
      assert.deepEqual(config.id_token_signing_alg_values_supported, ['ES256']);
      const status = await review(ts.admin, oldToken);
      assert.equal(status.authenticated, undefined);
      assert.equal(status.error, 'invalid signature, no keys found');
      assert.equal((await ts.withToken(oldToken).get('/api/v1/namespaces')).status, 401);
    } finally {
      await ts.close();
      await store.close();
    }
  });
});

describe('--external-hostname', () => {
  const jwksUriOf = async (ts: TestServer): Promise<string> => {
    const admin = new Client(`https://127.0.0.1:${ts.handle.port}`, { ca: ts.handle.pki.ca.certPem, cert: ts.handle.pki.admin.certPem, key: ts.handle.pki.admin.keyPem });
    try {
      return (await admin.get('/.well-known/openid-configuration')).json().jwks_uri;
    } finally {
      admin.close();
    }
  };

  test('a host name gets the listening port; a host:port is used as given (net.SplitHostPort)', async () => {
    for (const [hostname, expected] of [
      ['api.example.com', (port: number) => `https://api.example.com:${port}`],
      ['api.example.com:443', () => 'https://api.example.com:443'],
      ['[2001:db8::1]:8443', () => 'https://[2001:db8::1]:8443'],
      ['2001:db8::1', (port: number) => `https://[2001:db8::1]:${port}`],
    ] as const) {
      const ts = await startTestServer({ flags: { externalHostname: hostname } });
      try {
        assert.equal(ts.handle.url, expected(ts.handle.port), hostname);
        assert.equal(await jwksUriOf(ts), `${expected(ts.handle.port)}/openid/v1/jwks`, hostname);
      } finally {
        await ts.close();
      }
    }
  });
});

describe("issuers read as Go's url.Parse reads them", () => {
  test('a port above 65535 (which WHATWG URL refuses) or an empty query: discovery served', async () => {
    for (const issuer of ['https://issuer.example.com:99999', 'https://issuer.example.com?']) {
      const ts = await startTestServer({ flags: { serviceAccountIssuer: [issuer] } });
      try {
        const res = await ts.admin.get('/.well-known/openid-configuration');
        assert.equal(res.status, 200, issuer);
        assert.equal(res.json().issuer, issuer);
        const token = await mint(ts.admin, await ts.namespace('gourl'));
        assert.equal(jwtPayload(token).iss, issuer);
        assert.equal((await review(ts.admin, token)).authenticated, true, issuer);
      } finally {
        await ts.close();
      }
    }
  });
  test('a query: discovery off, tokens still work', async () => {
    const ts = await startTestServer({ flags: { serviceAccountIssuer: ['https://issuer.example.com?x=1'] } });
    try {
      assert.equal((await ts.admin.get('/.well-known/openid-configuration')).status, 404);
      assert.equal((await review(ts.admin, await mint(ts.admin, await ts.namespace('gourl')))).authenticated, true);
    } finally {
      await ts.close();
    }
  });
});

describe('a non-URL issuer and a maximum token lifetime', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ flags: { serviceAccountIssuer: ['kubernetes.default.svc'], serviceAccountMaxTokenExpiration: '1h' } });
  });
  after(() => ts?.close());

  test('discovery is off; tokens are issued for and verified with that issuer', async () => {
    assert.equal((await ts.admin.get('/.well-known/openid-configuration')).status, 404);
    assert.equal((await ts.admin.get('/openid/v1/jwks')).status, 404);
    const ns = await ts.namespace('nonurl');
    const token = await mint(ts.admin, ns);
    const claims = jwtPayload(token);
    assert.equal(claims.iss, 'kubernetes.default.svc');
    assert.deepEqual(claims.aud, ['kubernetes.default.svc']);
    const status = await review(ts.admin, token);
    assert.equal(status.authenticated, true);
    assert.deepEqual(status.audiences, ['kubernetes.default.svc']);
  });

  test('a longer request is shortened to the maximum, with a Warning', async () => {
    const ns = await ts.namespace('maxexp');
    const res = await ts.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/default/token`, { spec: { expirationSeconds: 86400 } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.warning, '299 - "requested expiration of 86400 seconds shortened to 3600 seconds"');
    const body = res.json();
    assert.equal(body.spec.expirationSeconds, 3600);
    const claims = jwtPayload(body.status.token);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(Date.parse(body.status.expirationTimestamp) / 1000, claims.iat + 3600);

    const within = await ts.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/default/token`, { spec: { expirationSeconds: 1800 } });
    assert.equal(within.headers.warning, undefined);
    assert.equal(within.json().spec.expirationSeconds, 1800);
  });

  test('the cap applies before the one-year extension: 3607 s becomes 3600 s, not extended', async () => {
    const ns = await ts.namespace('capext');
    await ts.admin.post(`/api/v1/namespaces/${ns}/pods`, podManifest('p', { spec: { schedulerName: 'nobody' } }));
    const res = await ts.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/default/token`, {
      spec: { expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.warning, '299 - "requested expiration of 3607 seconds shortened to 3600 seconds"');
    const claims = jwtPayload(res.json().status.token);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims['kubernetes.io'].warnafter, undefined);
  });
});
