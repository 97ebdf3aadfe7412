/**
 * Certificates in the data directory, and so `kube-root-ca.crt`, are PEM text ending with a
 * newline, as Go's pem.Encode writes it: bundles are made by concatenating such files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapPki } from '../../src/pki/bootstrap.js';
import { createCA, issueCertificate } from '../../src/pki/certs.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'boundtoken-pem-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('new certificates end with a newline', async () => {
  const ca = await createCA('test-ca');
  assert.match(ca.certPem, /-----END CERTIFICATE-----\n$/);
  const leaf = await issueCertificate(ca, { commonName: 'x', client: true });
  assert.match(leaf.certPem, /-----END CERTIFICATE-----\n$/);
});

test('a CA written without the final newline is read with it', async () => {
  const first = await bootstrapPki({ dataDir: dir });
  const caFile = join(dir, 'pki', 'ca.crt');
  assert.equal(readFileSync(caFile, 'utf8'), first.ca.certPem);
  writeFileSync(caFile, first.ca.certPem.trimEnd());
  const again = await bootstrapPki({ dataDir: dir });
  assert.equal(again.ca.certPem, first.ca.certPem);
});
