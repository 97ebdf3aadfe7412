import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfigMap, Pod, Secret, TokenRequest, Volume } from '@boundtoken/api';
import { extractFieldPathAsString, formatMap } from '../src/volumes/fieldpath.ts';
import { parseQuantity, quantityMilliValue, quantityValue } from '../src/volumes/quantity.ts';
import { extractResourceValue } from '../src/volumes/resource.ts';
import { collectVolume, fsUserFrom, type CollectContext } from '../src/volumes/sources.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function pod(extra: Partial<Pod['spec']> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-123', labels: { app: 'web' }, ...meta },
    spec: { nodeName: 'n1', serviceAccountName: 'builder', containers: [{ name: 'app', image: 'nginx' }], ...extra },
  };
}

interface Ctx extends CollectContext {
  tokenRequests: { ns: string; sa: string; tr: TokenRequest }[];
}

function ctx(p: Pod = pod(), objects: { configmaps?: Record<string, ConfigMap>; secrets?: Record<string, Secret> } = {}): Ctx {
  const notFound = (kind: string, name: string) =>
    Object.assign(new Error(`${kind} "${name}" not found`), { reason: 'NotFound', statusCode: 404 });
  const tokenRequests: Ctx['tokenRequests'] = [];
  return {
    pod: p,
    tokenRequests,
    nodeAllocatable: { cpu: '2', memory: '4Gi' },
    objects: {
      getConfigMap: async (_ns, name) => {
        const cm = objects.configmaps?.[name];
        if (!cm) throw notFound('configmaps', name);
        return cm;
      },
      getSecret: async (_ns, name) => {
        const s = objects.secrets?.[name];
        if (!s) throw notFound('secrets', name);
        return s;
      },
    },
    tokens: {
      getServiceAccountToken: async (ns, sa, tr) => {
        tokenRequests.push({ ns, sa, tr });
        return { ...tr, status: { token: `jwt-for-${sa}`, expirationTimestamp: '2030-01-01T00:00:00Z' } };
      },
    },
  };
}

function text(payload: Map<string, { data: Buffer | string }>): Record<string, string> {
  return Object.fromEntries([...payload].map(([k, v]) => [k, v.data.toString()]));
}

function modes(payload: Map<string, { mode: number }>): Record<string, number> {
  return Object.fromEntries([...payload].map(([k, v]) => [k, v.mode]));
}

const kubeApiAccess: Volume = {
  name: 'kube-api-access-abcde',
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  },
};
const rootCA: ConfigMap = { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\n' } };

describe('projected volumes', () => {
  test('kube-api-access: token, ca.crt and namespace, all 0644', async () => {
    const c = ctx(pod(), { configmaps: { 'kube-root-ca.crt': rootCA } });
    const payload = await collectVolume(kubeApiAccess, c);
    assert.deepEqual(text(payload), { token: 'jwt-for-builder', 'ca.crt': rootCA.data!['ca.crt'], namespace: 'shop' });
    assert.deepEqual(modes(payload), { token: 0o644, 'ca.crt': 0o644, namespace: 0o644 });
    assert.equal(c.tokenRequests.length, 1);
    const { ns, sa, tr } = c.tokenRequests[0]!;
    assert.equal(ns, 'shop');
    assert.equal(sa, 'builder');
    assert.deepEqual(tr.spec, {
      expirationSeconds: 3607,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'uid-123' },
    });
    assert.equal('audiences' in tr.spec, false, 'no audience: the server applies its own');
  });

  test('token with an audience', async () => {
    const c = ctx();
    await collectVolume(
      { name: 'v', projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: 't', audience: 'vault', expirationSeconds: 600 } }] } },
      c,
    );
    assert.deepEqual(c.tokenRequests[0]!.tr.spec.audiences, ['vault']);
  });

  const ownership: { name: string; securityContext: NonNullable<Pod['spec']>['securityContext']; mode: number; fsUser?: number }[] = [
    { name: 'no fsUser/fsGroup: defaultMode', securityContext: {}, mode: 0o644 },
    { name: 'fsGroup: 0600', securityContext: { fsGroup: 2000 }, mode: 0o600 },
    { name: 'runAsUser: 0600 and chown', securityContext: { runAsUser: 1000 }, mode: 0o600, fsUser: 1000 },
  ];
  for (const o of ownership) {
    test(`token mode: ${o.name}`, async () => {
      const p = pod({ securityContext: o.securityContext });
      const c = ctx(p, { configmaps: { 'kube-root-ca.crt': rootCA } });
      const fsGroup = o.securityContext?.fsGroup ?? undefined;
      const payload = await collectVolume(kubeApiAccess, { ...c, fsUser: fsUserFrom(p), fsGroup });
      assert.equal(payload.get('token')!.mode, o.mode);
      assert.equal(payload.get('token')!.fsUser, o.fsUser);
      assert.equal(payload.get('ca.crt')!.mode, 0o644, 'only the token changes mode');
      assert.equal(payload.get('ca.crt')!.fsUser, undefined);
    });
  }

  test('later sources override earlier paths', async () => {
    const c = ctx(pod(), {
      configmaps: { cm: { data: { shared: 'from-cm', only: 'cm' } } },
      secrets: { s: { data: { shared: b64('from-secret') } } },
    });
    const payload = await collectVolume(
      {
        name: 'v',
        projected: {
          defaultMode: 0o644,
          sources: [{ configMap: { name: 'cm' } }, { secret: { name: 's', items: [{ key: 'shared', path: 'shared', mode: 0o400 }] } }],
        },
      },
      c,
    );
    assert.deepEqual(text(payload), { shared: 'from-secret', only: 'cm' });
    assert.equal(payload.get('shared')!.mode, 0o400);
  });

  test('missing optional objects and keys are skipped', async () => {
    const c = ctx(pod(), { configmaps: { cm: { data: { a: '1' } } } });
    const payload = await collectVolume(
      {
        name: 'v',
        projected: {
          defaultMode: 0o644,
          sources: [
            { configMap: { name: 'missing', optional: true } },
            { secret: { name: 'missing', optional: true, items: [{ key: 'k', path: 'k' }] } },
            { configMap: { name: 'cm', optional: true, items: [{ key: 'a', path: 'x/a' }, { key: 'nope', path: 'nope' }] } },
          ],
        },
      },
      c,
    );
    assert.deepEqual(text(payload), { 'x/a': '1' });
  });

  test('one failing source fails the whole volume; errors are aggregated in order', async () => {
    const c = ctx(pod(), { configmaps: { cm: { data: { a: '1' } } } });
    const volume: Volume = {
      name: 'v',
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { path: 'token' } },
          { configMap: { name: 'missing' } },
          { configMap: { name: 'cm', items: [{ key: 'nope', path: 'nope' }] } },
        ],
      },
    };
    await assert.rejects(collectVolume(volume, c), (err: Error & { code?: string; errors?: Error[] }) => {
      assert.equal(err.code, 'ERR_AGGREGATE');
      assert.equal(err.message, '[configmaps "missing" not found, configmap references non-existent config key: nope]');
      assert.equal(err.errors!.length, 2);
      return true;
    });
    // a single error keeps its own message and code
    await assert.rejects(
      collectVolume({ name: 'v', projected: { defaultMode: 0o644, sources: [{ secret: { name: 's', items: [] } }] } }, ctx()),
      { message: 'secrets "s" not found' },
    );
    await assert.rejects(
      collectVolume(
        { name: 'v', projected: { defaultMode: 0o644, sources: [{ secret: { name: 's', items: [{ key: 'x', path: 'x' }] } }] } },
        ctx(pod(), { secrets: { s: { data: {} } } }),
      ),
      { code: 'ERR_MISSING_KEY', message: 'references non-existent secret key: x' },
    );
  });

  test('a token failure fails the volume with the token manager’s message', async () => {
    const c = ctx(pod(), { configmaps: { 'kube-root-ca.crt': rootCA } });
    c.tokens.getServiceAccountToken = async () => {
      throw Object.assign(new Error('failed to fetch token: serviceaccounts "builder" not found'), { code: 'ERR_TOKEN_FETCH' });
    };
    await assert.rejects(collectVolume(kubeApiAccess, c), {
      code: 'ERR_TOKEN_FETCH',
      message: 'failed to fetch token: serviceaccounts "builder" not found',
    });
  });

  test('no defaultMode is refused', async () => {
    await assert.rejects(collectVolume({ name: 'v', projected: { sources: [] } }, ctx()), {
      code: 'ERR_INVALID_VOLUME',
      message: 'no defaultMode used, not even the default value for it',
    });
  });

  test('binaryData and per-item modes', async () => {
    const c = ctx(pod(), { configmaps: { cm: { data: { t: 'text' }, binaryData: { bin: Buffer.from([0, 1, 255]).toString('base64') } } } });
    const payload = await collectVolume({ name: 'v', projected: { defaultMode: 0o640, sources: [{ configMap: { name: 'cm' } }] } }, c);
    assert.deepEqual([...payload.get('bin')!.data as Buffer], [0, 1, 255]);
    assert.equal(payload.get('t')!.mode, 0o640);
  });
});

describe('plain volumes', () => {
  test('secret, configMap and downwardAPI volumes use defaultMode 0644 unless set', async () => {
    const c = ctx(pod(), { configmaps: { cm: { data: { a: '1' } } }, secrets: { s: { data: { p: b64('pw') } } } });
    assert.deepEqual(modes(await collectVolume({ name: 'c', configMap: { name: 'cm' } }, c)), { a: 0o644 });
    const s = await collectVolume({ name: 's', secret: { secretName: 's', defaultMode: 0o400 } }, c);
    assert.deepEqual(text(s), { p: 'pw' });
    assert.deepEqual(modes(s), { p: 0o400 });
    const d = await collectVolume({ name: 'd', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } }, c);
    assert.deepEqual(text(d), { name: 'web' });
    assert.deepEqual(await collectVolume({ name: 'o', secret: { secretName: 'gone', optional: true } }, c), new Map());
  });
});

describe('downward API', () => {
  const p: Pod = {
    ...pod(
    {
      containers: [{ name: 'app', image: 'x', resources: { limits: { memory: '512Mi' }, requests: { cpu: '250m', memory: '128Mi' } } }],
    },
    {
      labels: { app: 'web', 'tier.example.com/role': 'front end' },
      annotations: { note: 'say "hi"\n\tbye', 'kubernetes.io/config': 'é✓' },
    },
  ),
    status: { hostIP: '10.0.0.1', podIPs: [{ ip: '10.1.0.5' }, { ip: 'fd00::5' }] },
  };

  const fields: [string, string][] = [
    ['metadata.name', 'web'],
    ['metadata.namespace', 'shop'],
    ['metadata.uid', 'uid-123'],
    ['metadata.labels', 'app="web"\ntier.example.com/role="front end"'],
    ['metadata.annotations', 'kubernetes.io/config="é✓"\nnote="say \\"hi\\"\\n\\tbye"'],
    ["metadata.labels['app']", 'web'],
    ["metadata.labels['missing']", ''],
    ["metadata.annotations['note']", 'say "hi"\n\tbye'],
    ['spec.nodeName', 'n1'],
    ['spec.serviceAccountName', 'builder'],
    ['status.hostIP', '10.0.0.1'],
    ['status.podIP', '10.1.0.5'],
    ['status.podIPs', '10.1.0.5,fd00::5'],
  ];
  for (const [path, want] of fields) {
    test(`fieldRef ${path}`, () => {
      assert.equal(extractFieldPathAsString(p, path), want);
    });
  }

  const badFields: [string, RegExp][] = [
    ['metadata.generateName', /^unsupported fieldPath: metadata\.generateName$/],
    ["metadata.name['x']", /^fieldPath "metadata\.name" does not support subscript$/],
    ["metadata.labels['-bad-']", /^invalid key subscript in metadata\.labels\['-bad-'\]: name part must consist/],
    ["metadata.labels['a/b/c']", /^invalid key subscript/],
  ];
  for (const [path, message] of badFields) {
    test(`fieldRef ${path} is an error`, () => {
      assert.throws(() => extractFieldPathAsString(p, path), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_FIELD_PATH');
        assert.match(err.message, message);
        return true;
      });
    });
  }

  const resources: [string, string | undefined, string][] = [
    ['requests.cpu', undefined, '1'], // 250m rounded up to whole cores
    ['requests.cpu', '1m', '250'],
    ['limits.cpu', '1m', '2000'], // no limit: the node's allocatable
    ['requests.memory', undefined, String(128 * 1024 * 1024)],
    ['limits.memory', '1Mi', '512'],
    ['requests.ephemeral-storage', undefined, '0'],
    ['limits.memory', '1Gi', '1'], // rounded up
  ];
  for (const [resource, divisor, want] of resources) {
    test(`resourceFieldRef ${resource} / ${divisor ?? '1'}`, () => {
      const sel = { containerName: 'app', resource, ...(divisor ? { divisor } : {}) };
      assert.equal(extractResourceValue(sel, p, { cpu: '2', memory: '4Gi' }), want);
    });
  }

  test('resourceFieldRef errors', () => {
    assert.throws(() => extractResourceValue({ containerName: 'nope', resource: 'limits.cpu' }, p, {}), {
      message: 'container nope not found',
    });
    assert.throws(() => extractResourceValue({ containerName: 'app', resource: 'limits.gpu' }, p, {}), {
      message: 'unsupported container resource : limits.gpu',
    });
  });

  test('one bad item fails the volume, after trying every item', async () => {
    await assert.rejects(
      collectVolume(
        {
          name: 'd',
          downwardAPI: {
            items: [
              { path: 'a', fieldRef: { fieldPath: 'metadata.bogus' } },
              { path: 'b', fieldRef: { fieldPath: 'metadata.name' } },
              { path: 'c', resourceFieldRef: { containerName: 'x', resource: 'limits.cpu' } },
            ],
          },
        },
        ctx(p),
      ),
      { message: '[unsupported fieldPath: metadata.bogus, container x not found]' },
    );
  });

  test('formatMap sorts keys and quotes values like Go', () => {
    assert.equal(formatMap({ b: '2', a: '1' }), 'a="1"\nb="2"');
    assert.equal(formatMap({}), '');
  });
});

describe('quantities', () => {
  const cases: [string, bigint, bigint][] = [
    ['1', 1n, 1000n],
    ['250m', 1n, 250n],
    ['1.5', 2n, 1500n],
    ['2Gi', 2n * 1024n ** 3n, 2000n * 1024n ** 3n],
    ['1k', 1000n, 1000000n],
    ['1e3', 1000n, 1000000n],
    ['1.5Ki', 1536n, 1536000n],
    ['100n', 1n, 1n],
    ['0', 0n, 0n],
  ];
  for (const [text, value, milli] of cases) {
    test(`parse ${text}`, () => {
      const q = parseQuantity(text);
      assert.equal(quantityValue(q), value);
      assert.equal(quantityMilliValue(q), milli);
    });
  }
  test('garbage is an error', () => {
    assert.throws(() => parseQuantity('12XB'), { code: 'ERR_FIELD_PATH' });
  });
});

describe('fsUserFrom', () => {
  const cases: { name: string; spec: Partial<NonNullable<Pod['spec']>>; want: number | undefined }[] = [
    { name: 'no runAsUser anywhere', spec: {}, want: undefined },
    { name: 'pod-level runAsUser', spec: { securityContext: { runAsUser: 1000 } }, want: 1000 },
    {
      name: 'container overrides pod, all equal',
      spec: { securityContext: { runAsUser: 5 }, containers: [{ name: 'a', securityContext: { runAsUser: 7 } }, { name: 'b', securityContext: { runAsUser: 7 } }] },
      want: 7,
    },
    {
      name: 'two different users',
      spec: { containers: [{ name: 'a', securityContext: { runAsUser: 1 } }, { name: 'b', securityContext: { runAsUser: 2 } }] },
      want: undefined,
    },
    {
      name: 'one container without a user',
      spec: { containers: [{ name: 'a', securityContext: { runAsUser: 1 } }, { name: 'b' }] },
      want: undefined,
    },
    {
      name: 'init containers count',
      spec: { securityContext: { runAsUser: 3 }, initContainers: [{ name: 'i', securityContext: { runAsUser: 4 } }] },
      want: undefined,
    },
    { name: 'root is a user', spec: { securityContext: { runAsUser: 0 } }, want: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(fsUserFrom(pod(c.spec)), c.want));
  }
});
