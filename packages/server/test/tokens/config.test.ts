/**
 * The key flags as kube-apiserver reads them (reference/k8s-server.md §8): every key of every
 * --service-account-key-file in order, repeats included (kube-apiserver does not deduplicate, so
 * neither does the JWKS), its messages for unreadable and unparsable key files, and its start-up
 * warnings for a max expiration below the one-year extension.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesTestVectors as V } from '@boundtoken/token/testing';
import { resolveServerOptions, type ServerFlags } from '../../src/index.js';
import { loadTokenConfig } from '../../src/tokens/config.js';

let dir: string;
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const load = (flags: ServerFlags) => loadTokenConfig(resolveServerOptions(flags), V.rsaPrivateKeyPem);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'boundtoken-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('verification keys', () => {
  test('every key of every file, in order, repeats included', () => {
    const rsa = file('rsa.pub', V.rsaPublicKeyPem);
    const both = file('both.pem', V.rsaPrivateKeyPem + V.ecdsaPublicKeyPem);
    const config = load({ serviceAccountKeyFile: [rsa, both, rsa] });
    const rsaKid = config.signingKey.kid;
    assert.equal(config.publicKeys.length, 4);
    assert.deepEqual(config.publicKeys.map((k) => k.kid === rsaKid), [true, true, false, true]);
    assert.deepEqual(config.warnings, []);
  });

  test('without key files, the signing key verifies', () => {
    const config = load({});
    assert.deepEqual(config.publicKeys.map((k) => k.kid), [config.signingKey.kid]);
  });

  test("kube-apiserver's messages for key files it cannot read or parse", () => {
    const missing = join(dir, 'missing.pem');
    const junk = file('junk.pem', 'not a key\n');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    assert.throws(() => load({ serviceAccountKeyFile: [missing] }), {
      name: 'OptionsError',
      message: `failed to parse key file "${missing}": open ${missing}: no such file or directory`,
    });
    assert.throws(() => load({ serviceAccountKeyFile: [junk] }), {
      message: `failed to parse key file "${junk}": error reading public key file ${junk}: data does not contain any valid RSA or ECDSA public keys`,
    });
    assert.throws(() => load({ serviceAccountKeyFile: [sub] }), { message: `failed to parse key file "${sub}": read ${sub}: is a directory` });
    assert.throws(() => load({ serviceAccountSigningKeyFile: missing }), {
      message: `failed to parse service-account-issuer-key-file: open ${missing}: no such file or directory`,
    });
    assert.throws(() => load({ serviceAccountSigningKeyFile: junk }), {
      message: new RegExp(`^failed to parse service-account-issuer-key-file: error reading private key file ${junk}: `),
    });
  });
});

describe('start-up warnings', () => {
  test('a cap below 3607 s, or below a year, with the one-year extension on', () => {
    assert.deepEqual(load({ serviceAccountMaxTokenExpiration: '1h' }).warnings, [
      'service-account-extend-token-expiration is true, in order to correctly trigger safe transition logic, service-account-max-token-expiration must be set longer than 3607 seconds (currently 1h0m0s)',
      'service-account-extend-token-expiration is true, enabling tokens valid up to 31536000 seconds, which is longer than service-account-max-token-expiration set to 1h0m0s seconds',
    ]);
    assert.deepEqual(load({ serviceAccountMaxTokenExpiration: '24h' }).warnings, [
      'service-account-extend-token-expiration is true, enabling tokens valid up to 31536000 seconds, which is longer than service-account-max-token-expiration set to 24h0m0s seconds',
    ]);
    assert.deepEqual(load({ serviceAccountMaxTokenExpiration: '8760h' }).warnings, []);
    assert.deepEqual(load({ serviceAccountMaxTokenExpiration: '1h', serviceAccountExtendTokenExpiration: false }).warnings, []);
  });
});
