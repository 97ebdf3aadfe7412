/**
 * Issue #3, bad input end to end: malformed JSON, YAML and protobuf, wrong kind or apiVersion,
 * invalid names, bodies over 3 MiB and unknown fields under `fieldValidation=Strict`, sent to the
 * real server process over HTTPS (and through kubectl where kubectl can send them). Each gets the
 * Kubernetes `Status` error with the right code and reason, and nothing is stored or changed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeProtobufObject, PROTOBUF_MEDIA_TYPE } from '@boundtoken/api/protobuf';
import type { KubeObject } from '@boundtoken/api';
import { apiClient, cleanup, haveKubectl, kubectlFails, startServer, tempDir, type ApiClient, type ApiResponse, type TestServer } from './harness.ts';

const NS = 'bad';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const MiB = 1024 * 1024;
const JSON_T = 'application/json';
const YAML_T = 'application/yaml';
const PB = PROTOBUF_MEDIA_TYPE;

const cm = (name: string, extra: { metadata?: object; [field: string]: unknown } = {}): KubeObject => {
  const { metadata, ...rest } = extra;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...metadata }, data: { a: 'b' }, ...rest } as KubeObject;
};
const pb = (obj: KubeObject): Buffer => encodeProtobufObject(obj);

interface Case {
  name: string;
  path?: string;
  method?: string;
  body: string | Buffer | object;
  contentType?: string;
  code: number;
  reason: string;
  message: RegExp;
  /** The object that must not exist afterwards (default: none checked by name). */
  absent?: string;
}

/** Asserts a Kubernetes Status error body matching the response code. */
function assertStatus(r: ApiResponse, c: { code: number; reason: string; message: RegExp }, what: string): void {
  assert.equal(r.status, c.code, `${what}: ${r.body.slice(0, 300)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, what);
  const s = r.json<{ kind: string; apiVersion: string; status: string; reason: string; code: number; message: string; metadata: object }>();
  assert.equal(s.kind, 'Status', what);
  assert.equal(s.apiVersion, 'v1', what);
  assert.deepEqual(s.metadata, {}, what);
  assert.equal(s.status, 'Failure', what);
  assert.equal(s.reason, c.reason, what);
  assert.equal(s.code, c.code, what);
  assert.match(s.message, c.message, what);
}

describe('issue #3: bad input gets a Status error and stores nothing', () => {
  let server: TestServer;
  let api: ApiClient;
  let keep: KubeObject;

  before(async () => {
    server = await startServer();
    api = apiClient(server.kubeconfig);
    assert.equal((await api.request('/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } })).status, 201);
    const r = await api.request(CM, { body: cm('keep') });
    assert.equal(r.status, 201, r.body);
    keep = r.json<KubeObject>();
  });
  after(async () => {
    api?.close();
    await server?.dispose();
  });

  const creates: Case[] = [
    // syntax
    { name: 'truncated JSON', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j1"', code: 400, reason: 'BadRequest', message: /json parse error/, absent: 'j1' },
    { name: 'JSON with a trailing comma', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j2"},}', code: 400, reason: 'BadRequest', message: /json parse error/, absent: 'j2' },
    { name: 'JSON array', body: '[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j3"}}]', code: 400, reason: 'BadRequest', message: /cannot unmarshal array/, absent: 'j3' },
    { name: 'JSON null', body: 'null', code: 400, reason: 'BadRequest', message: /cannot unmarshal null/ },
    { name: 'empty body', body: '', code: 400, reason: 'BadRequest', message: /empty/ },
    { name: 'JSON in the wrong encoding (UTF-16)', body: Buffer.from(JSON.stringify(cm('j4')), 'utf16le'), code: 400, reason: 'BadRequest', message: /json parse error/, absent: 'j4' },
    { name: 'YAML with an unclosed flow sequence', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y1\ndata: [a\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /error converting YAML to JSON/, absent: 'y1' },
    { name: 'YAML with bad indentation', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y2\n data:\n  a: b\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /error converting YAML to JSON/, absent: 'y2' },
    { name: 'YAML tab indentation', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: y3\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /error converting YAML to JSON/, absent: 'y3' },
    { name: 'protobuf without the k8s\\0 magic', body: Buffer.from('\x0a\x02v1'), contentType: PB, code: 400, reason: 'BadRequest', message: /does not appear to be a protobuf message/ },
    { name: 'protobuf: garbage after the magic', body: Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0f, 0xff, 0xff, 0xff, 0x07])]), contentType: PB, code: 400, reason: 'BadRequest', message: /unrecognized/ },
    { name: 'protobuf: truncated ConfigMap', body: pb(cm('p1')).subarray(0, -6), contentType: PB, code: 400, reason: 'BadRequest', message: /./, absent: 'p1' },
    { name: 'protobuf: a length running past the end', body: Buffer.concat([pb(cm('p2')).subarray(0, 4), Buffer.from([0x12, 0xff, 0x01, 0x00])]), contentType: PB, code: 400, reason: 'BadRequest', message: /./, absent: 'p2' },
    { name: 'an unsupported media type', body: 'name=x', contentType: 'application/x-www-form-urlencoded', code: 415, reason: 'UnsupportedMediaType', message: /^the body of the request was in an unknown format - accepted media types include: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf$/ },
    // wrong kind or version
    { name: 'kind Secret posted to configmaps', body: { ...cm('k1'), kind: 'Secret' }, code: 400, reason: 'BadRequest', message: /kind "Secret" in the data does not match/, absent: 'k1' },
    { name: 'apiVersion apps/v1 for a ConfigMap', body: { ...cm('k2'), apiVersion: 'apps/v1' }, code: 400, reason: 'BadRequest', message: /API version in the data \(apps\/v1\) does not match/, absent: 'k2' },
    { name: 'kind in YAML not matching', body: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: k3\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /kind "Pod" in the data does not match/, absent: 'k3' },
    { name: 'protobuf Secret posted to configmaps', body: pb({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k4' } } as KubeObject), contentType: PB, code: 400, reason: 'BadRequest', message: /kind "Secret"/, absent: 'k4' },
    { name: 'a namespace in the body other than the URL', body: cm('k5', { metadata: { namespace: 'default' } }), code: 400, reason: 'BadRequest', message: /namespace/, absent: 'k5' },
    // names and values
    { name: 'an upper-case, underscored name', body: cm('Bad_Name'), code: 422, reason: 'Invalid', message: /metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/ },
    { name: 'a 254-character name', body: cm('a'.repeat(254)), code: 422, reason: 'Invalid', message: /must be no more than 253 characters/ },
    { name: 'a name with a slash', body: cm('a/b'), code: 422, reason: 'Invalid', message: /metadata\.name/ },
    { name: 'no name and no generateName', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, code: 422, reason: 'Invalid', message: /name or generateName is required/ },
    { name: 'a data key with a space', body: cm('v1', { data: { 'bad key': 'x' } }), code: 422, reason: 'Invalid', message: /data\[bad key\]|bad key/, absent: 'v1' },
    { name: 'a label value too long', body: cm('v2', { metadata: { labels: { app: 'x'.repeat(64) } } }), code: 422, reason: 'Invalid', message: /metadata\.labels/, absent: 'v2' },
    { name: 'protobuf ConfigMap with an invalid name', body: pb(cm('Bad.Name')), contentType: PB, code: 422, reason: 'Invalid', message: /Bad\.Name/ },
    // size
    { name: 'a JSON body over 3 MiB', body: cm('big1', { data: { a: 'x'.repeat(3 * MiB) } }), code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/, absent: 'big1' },
    { name: 'a YAML body over 3 MiB', body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big2\ndata:\n  a: ${'y'.repeat(3 * MiB)}\n`, contentType: YAML_T, code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/, absent: 'big2' },
    { name: 'a small object padded past 3 MiB with whitespace', body: JSON.stringify(cm('big4')) + ' '.repeat(3 * MiB), code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/, absent: 'big4' },
    { name: 'a ConfigMap over its own 1 MiB limit (a 2 MiB body)', body: cm('big5', { data: { a: 'x'.repeat(2 * MiB) } }), code: 422, reason: 'Invalid', message: /must have at most 1048576 bytes/, absent: 'big5' },
    { name: 'a protobuf body over 3 MiB', body: pb(cm('big3', { data: { a: 'z'.repeat(3 * MiB) } })), contentType: PB, code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/, absent: 'big3' },
    // strict field validation
    { name: 'Strict: an unknown top-level field', path: `${CM}?fieldValidation=Strict`, body: cm('s1', { spec: { replicas: 1 } }), code: 400, reason: 'BadRequest', message: /strict decoding error: unknown field "spec"/, absent: 's1' },
    { name: 'Strict: an unknown metadata field', path: `${CM}?fieldValidation=Strict`, body: cm('s2', { metadata: { labelz: { a: 'b' } } }), code: 400, reason: 'BadRequest', message: /strict decoding error: unknown field "metadata\.labelz"/, absent: 's2' },
    { name: 'Strict: a duplicate field', path: `${CM}?fieldValidation=Strict`, body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s3"},"data":{"a":"b"},"data":{"c":"d"}}', code: 400, reason: 'BadRequest', message: /duplicate field "data"/, absent: 's3' },
    { name: 'Strict: an unknown field in YAML', path: `${CM}?fieldValidation=Strict`, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s4\nspec: {}\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /unknown field "spec"/, absent: 's4' },
    { name: 'a fieldValidation value that does not exist', path: `${CM}?fieldValidation=Loose`, body: cm('s5'), code: 422, reason: 'Invalid', message: /^CreateOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "Loose"/, absent: 's5' },
  ];

  test('creates: every bad body is refused with its Status', async () => {
    for (const c of creates) {
      const r = await api.request(c.path ?? CM, { method: c.method ?? 'POST', body: c.body, contentType: c.contentType ?? JSON_T });
      assertStatus(r, c, c.name);
      if (c.absent) assert.equal((await api.request(`${CM}/${c.absent}`)).status, 404, `${c.name}: ${c.absent} was stored`);
    }
  });

  test('the same encodings are accepted when well-formed (the refusals above are about the defect)', async () => {
    const ok: [string, string | Buffer | object, string][] = [
      ['json', cm('good-json'), JSON_T],
      ['yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good-yaml\ndata:\n  a: b\n', YAML_T],
      ['protobuf', pb({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'good-pb', namespace: NS }, data: { a: 'b' } } as KubeObject), PB],
      // just under the 3 MiB body limit (whitespace: the object itself is small)
      ['near the limit', JSON.stringify(cm('good-big')) + ' '.repeat(3 * MiB - 1024), JSON_T],
    ];
    for (const [name, body, contentType] of ok) {
      const r = await api.request(`${CM}?fieldValidation=Strict`, { body, contentType });
      assert.equal(r.status, 201, `${name}: ${r.body.slice(0, 300)}`);
      assert.deepEqual(r.json<KubeObject>().data, { a: 'b' }, name);
    }
  });

  test('updates and patches with bad bodies leave the object as it was', async () => {
    const path = `${CM}/keep`;
    const cases: Case[] = [
      { name: 'PUT truncated JSON', method: 'PUT', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"', code: 400, reason: 'BadRequest', message: /json parse error/ },
      { name: 'PUT over 3 MiB', method: 'PUT', body: { ...keep, data: { a: 'x'.repeat(3 * MiB + 1) } }, code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/ },
      { name: 'PUT Strict unknown field', method: 'PUT', path: `${path}?fieldValidation=Strict`, body: { ...keep, data: { a: 'changed' }, extra: true }, code: 400, reason: 'BadRequest', message: /unknown field "extra"/ },
      { name: 'PUT another kind', method: 'PUT', body: { ...keep, kind: 'Secret' }, code: 400, reason: 'BadRequest', message: /kind "Secret"/ },
      { name: 'PUT a different name', method: 'PUT', body: { ...keep, metadata: { ...keep.metadata, name: 'other' } }, code: 400, reason: 'BadRequest', message: /name/ },
      { name: 'merge patch: malformed JSON', method: 'PATCH', body: '{"data":', contentType: 'application/merge-patch+json', code: 400, reason: 'BadRequest', message: /./ },
      // kube-apiserver's patch handler answers strict decoding errors of the patched object with 422
      { name: 'merge patch: Strict unknown field', method: 'PATCH', path: `${path}?fieldValidation=Strict`, body: { data: { a: 'changed' }, spec: {} }, contentType: 'application/merge-patch+json', code: 422, reason: 'Invalid', message: /patch: Invalid value: .*strict decoding error: unknown field "spec"/ },
      { name: 'strategic merge patch: Strict unknown field', method: 'PATCH', path: `${path}?fieldValidation=Strict`, body: { data: { a: 'changed' }, spec: {} }, contentType: 'application/strategic-merge-patch+json', code: 422, reason: 'Invalid', message: /strict decoding error: unknown field "spec"/ },
      { name: 'JSON patch: not a list', method: 'PATCH', body: { op: 'replace', path: '/data/a', value: 'changed' }, contentType: 'application/json-patch+json', code: 400, reason: 'BadRequest', message: /./ },
      { name: 'JSON patch: a failing test op', method: 'PATCH', body: [{ op: 'replace', path: '/data/a', value: 'changed' }, { op: 'test', path: '/data/a', value: 'nope' }], contentType: 'application/json-patch+json', code: 422, reason: 'Invalid', message: /./ },
      { name: 'strategic merge patch: malformed YAML-ish JSON', method: 'PATCH', body: "{'data': 1}", contentType: 'application/strategic-merge-patch+json', code: 400, reason: 'BadRequest', message: /./ },
      { name: 'strategic merge patch: an invalid name label', method: 'PATCH', body: { metadata: { labels: { 'bad key!': 'x' } }, data: { a: 'changed' } }, contentType: 'application/strategic-merge-patch+json', code: 422, reason: 'Invalid', message: /metadata\.labels/ },
      { name: 'apply patch: malformed YAML', method: 'PATCH', path: `${path}?fieldManager=e2e`, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n', contentType: 'application/apply-patch+yaml', code: 400, reason: 'BadRequest', message: /./ },
    ];
    for (const c of cases) {
      const r = await api.request(c.path ?? path, { method: c.method!, body: c.body, contentType: c.contentType ?? JSON_T });
      assertStatus(r, c, c.name);
      const now = (await api.request(path)).json<KubeObject>();
      assert.equal(now.metadata!.resourceVersion, keep.metadata!.resourceVersion, `${c.name} changed the object`);
      assert.deepEqual(now.data, { a: 'b' }, c.name);
    }
  });

  test('token endpoints (TokenRequest, TokenReview, SelfSubjectReview) refuse malformed bodies with a Status', async () => {
    const tokenPath = '/api/v1/namespaces/default/serviceaccounts/default/token';
    const goodToken = encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: {} } as KubeObject);
    const control = await api.request(tokenPath, { body: goodToken, contentType: PB });
    assert.equal(control.status, 201, control.body);
    const cases: Case[] = [
      { name: 'TokenRequest: truncated protobuf', path: tokenPath, body: goodToken.subarray(0, goodToken.length - 3), contentType: PB, code: 400, reason: 'BadRequest', message: /./ },
      { name: 'TokenRequest: a SelfSubjectReview envelope', path: tokenPath, body: encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} } as KubeObject), contentType: PB, code: 400, reason: 'BadRequest', message: /SelfSubjectReview/ },
      { name: 'TokenRequest: malformed JSON', path: tokenPath, body: '{"spec":{"audiences":["a"]', code: 400, reason: 'BadRequest', message: /json parse error/ },
      { name: 'TokenRequest: audiences not a list', path: `${tokenPath}?fieldValidation=Strict`, body: { spec: { audiences: 'vault' } }, code: 400, reason: 'BadRequest', message: /audiences/ },
      { name: 'TokenRequest: expirationSeconds a string', path: tokenPath, body: { spec: { expirationSeconds: '3600' } }, code: 400, reason: 'BadRequest', message: /expirationSeconds/ },
      { name: 'TokenRequest: over 3 MiB', path: tokenPath, body: { spec: { audiences: ['x'.repeat(3 * MiB)] } }, code: 413, reason: 'RequestEntityTooLarge', message: /limit is 3145728/ },
      { name: 'TokenReview: malformed YAML', path: '/apis/authentication.k8s.io/v1/tokenreviews', body: 'spec:\n  token: [\n', contentType: YAML_T, code: 400, reason: 'BadRequest', message: /YAML/ },
      { name: 'TokenReview: Strict unknown field', path: '/apis/authentication.k8s.io/v1/tokenreviews?fieldValidation=Strict', body: { spec: { token: 'x', audience: 'y' } }, code: 400, reason: 'BadRequest', message: /unknown field "spec\.audience"/ },
      { name: 'TokenReview: garbage protobuf', path: '/apis/authentication.k8s.io/v1/tokenreviews', body: Buffer.from('k8s\0\xff\xff\xff'), contentType: PB, code: 400, reason: 'BadRequest', message: /unrecognized/ },
      { name: 'SelfSubjectReview: no magic', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: Buffer.from('hello'), contentType: PB, code: 400, reason: 'BadRequest', message: /expected prefix/ },
    ];
    for (const c of cases) {
      const r = await api.request(c.path!, { body: c.body, contentType: c.contentType ?? JSON_T });
      assertStatus(r, c, c.name);
    }
  });

  test('kubectl reports the server Status for invalid names and Strict unknown fields', { skip: !haveKubectl() && 'kubectl is not installed' }, async () => {
    const dir = tempDir('bad-input');
    try {
      const home = join(dir, 'home');
      const [name, unknown] = await Promise.all([
        kubectlFails(server.kubeconfig, ['create', '-f', '-'], { home, input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  namespace: ${NS}\n` }),
        kubectlFails(server.kubeconfig, ['apply', '-f', '-'], { home, input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kc-unknown\n  namespace: ${NS}\ndata:\n  a: b\nspec:\n  x: 1\n` }),
      ]);
      assert.match(name.stderr, /The ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
      assert.match(unknown.stderr, /unknown field "spec"/);
    } finally {
      cleanup(dir);
    }
  });

  test('nothing but the accepted objects is stored, and the server is unharmed', async () => {
    const list = (await api.request(CM)).json<{ items: KubeObject[] }>();
    assert.deepEqual(list.items.map((i) => i.metadata!.name).sort(), ['good-big', 'good-json', 'good-pb', 'good-yaml', 'keep', 'kube-root-ca.crt']);
    const ready = await api.request('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body, 'ok');
    assert.equal(server.proc.exitCode, null);
    assert.doesNotMatch(server.stderr(), /uncaught|unhandled|FATAL/i);
  });
});
