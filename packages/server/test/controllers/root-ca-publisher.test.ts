/**
 * The root CA publisher (controllers/service-accounts.ts, after
 * pkg/controller/certificates/rootcacertpublisher/publisher.go) over a Registry on a memory store:
 * a `kube-root-ca.crt` whose data is exactly the CA and whose description is non-empty is left
 * alone; otherwise only `data` and the description are rewritten, the rest of the ConfigMap kept.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, KubeObject } from '@boundtoken/api';
import { createMemoryStore } from '@boundtoken/store';
import { AdmissionChain } from '../../src/admission/types.js';
import { controllerContext } from '../../src/controllers/context.js';
import { startRootCAPublisher } from '../../src/controllers/service-accounts.js';
import { Registry } from '../../src/registry/registry.js';
import { coreResources } from '../../src/registry/resources/core.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const DESCRIPTION_KEY = 'kubernetes.io/description';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const NAME = 'kube-root-ca.crt';

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

interface Setup {
  registry: Registry;
  idle: () => Promise<void>;
  get: () => ConfigMap;
  edit: (f: (cm: ConfigMap) => void) => Promise<ConfigMap>;
  warnings: object[];
}

async function setup(): Promise<Setup> {
  const registry = new Registry({ store: createMemoryStore(), defs: coreResources, admission: new AdmissionChain([]) });
  await registry.start();
  stops.push(() => registry.stop());
  const ctx = controllerContext('test');
  await registry.create(registry.def('', 'namespaces')!, ctx, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } } as KubeObject);
  const warnings: object[] = [];
  const publisher = startRootCAPublisher(registry, CA, { warn: (o) => warnings.push(o) });
  stops.unshift(() => publisher.stop());
  await publisher.idle();
  const def = registry.def('', 'configmaps')!;
  const get = (): ConfigMap => registry.cache<ConfigMap>('configmaps').get('team', NAME)!;
  const edit = async (f: (cm: ConfigMap) => void): Promise<ConfigMap> => {
    const { object } = await registry.guaranteedUpdate<ConfigMap>(def, ctx, 'team', NAME, (cm) => {
      f(cm);
      return cm;
    });
    await publisher.idle();
    return object;
  };
  return { registry, idle: () => publisher.idle(), get, edit, warnings };
}

describe('root CA publisher', () => {
  test('publishes the CA with the description', async () => {
    const s = await setup();
    assert.deepEqual(s.get().data, { 'ca.crt': CA });
    assert.deepEqual(s.get().metadata?.annotations, { [DESCRIPTION_KEY]: DESCRIPTION });
  });

  test('data in place and any non-empty description: left alone (binaryData, labels and all)', async () => {
    const s = await setup();
    const edited = await s.edit((cm) => {
      cm.metadata!.annotations = { [DESCRIPTION_KEY]: 'our own words', team: 'a' };
      cm.metadata!.labels = { app: 'x' };
      cm.binaryData = { 'blob.bin': Buffer.from([1, 2, 3]).toString('base64') };
    });
    const cm = s.get();
    assert.equal(cm.metadata?.resourceVersion, edited.metadata?.resourceVersion, 'no write after ours');
    assert.deepEqual(cm.metadata?.annotations, { [DESCRIPTION_KEY]: 'our own words', team: 'a' });
    assert.deepEqual(cm.binaryData, { 'blob.bin': 'AQID' });
    assert.deepEqual(s.warnings, []);
  });

  test('a repair sets data to the CA alone and the description; binaryData, labels and other annotations stay', async () => {
    const s = await setup();
    await s.edit((cm) => {
      cm.data = { 'ca.crt': 'tampered', extra: 'x' };
      cm.metadata!.annotations = { [DESCRIPTION_KEY]: 'our own words', team: 'a' };
      cm.metadata!.labels = { app: 'x' };
      cm.binaryData = { 'blob.bin': 'AQID' };
    });
    const cm = s.get();
    assert.deepEqual(cm.data, { 'ca.crt': CA });
    // publisher.go writes the standard description whenever it updates
    assert.deepEqual(cm.metadata?.annotations, { [DESCRIPTION_KEY]: DESCRIPTION, team: 'a' });
    assert.deepEqual(cm.metadata?.labels, { app: 'x' });
    assert.deepEqual(cm.binaryData, { 'blob.bin': 'AQID' });
  });

  test('an empty or missing description is restored; the data left as it was', async () => {
    const s = await setup();
    for (const annotations of [{ [DESCRIPTION_KEY]: '' }, { other: 'y' }] as Record<string, string>[]) {
      await s.edit((cm) => {
        cm.metadata!.annotations = annotations;
      });
      assert.deepEqual(s.get().metadata?.annotations, { ...annotations, [DESCRIPTION_KEY]: DESCRIPTION });
      assert.deepEqual(s.get().data, { 'ca.crt': CA });
    }
  });
});
