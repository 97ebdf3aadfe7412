/**
 * Request bodies and write options: fieldValidation Strict/Warn/Ignore, malformed JSON/YAML/
 * protobuf, wrong kind or apiVersion, invalid names (422 with Kubernetes' messages and causes),
 * bodies over 3 MiB (413) — and nothing is stored after any failed write.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProtobufObject } from '@boundtoken/api/protobuf';
import type { Client, Response } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

let ts: TestServer;
let admin: Client;
let ns: string;

before(async () => {
  ts = await startTestServer();
  admin = ts.admin;
  ns = await ts.namespace('bodies');
});
after(() => ts?.close());

const DNS1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function warnings(res: Response): string[] {
  const h = res.headers.warning;
  if (h === undefined) return [];
  // `299 - "text"` entries, comma separated; the texts are Go-quoted
  return [...String(h).matchAll(/299 - ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
}

async function absent(name: string, resource = 'configmaps'): Promise<void> {
  assert.equal((await admin.get(`/api/v1/namespaces/${ns}/${resource}/${name}`)).status, 404, `${resource}/${name} must not exist`);
}

describe('fieldValidation', () => {
  const body = (name: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, bogus: 1 }, data: { a: 'b' }, extra: true });

  test('Strict refuses unknown fields with a 400', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, body('strict'));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().reason, 'BadRequest');
    assert.equal(res.json().message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.bogus", unknown field "extra"');
    await absent('strict');
  });

  test('Warn (the default) drops them and says so in Warning headers', async () => {
    for (const [name, query] of [['warn', '?fieldValidation=Warn'], ['default', '']] as const) {
      const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps${query}`, body(name));
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(warnings(res).sort(), ['unknown field "extra"', 'unknown field "metadata.bogus"']);
      const stored = (await admin.get(`/api/v1/namespaces/${ns}/configmaps/${name}`)).json();
      assert.equal(stored.extra, undefined);
      assert.equal(stored.metadata.bogus, undefined);
      assert.deepEqual(stored.data, { a: 'b' });
    }
  });

  test('Ignore drops them silently', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldValidation=Ignore`, body('ignore'));
    assert.equal(res.status, 201);
    assert.equal(res.headers.warning, undefined);
    assert.equal(res.json().extra, undefined);
  });

  test('duplicate fields: Strict refuses, Warn warns and the last value wins', async () => {
    const text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup1","name":"dup2"}}';
    const strict = await admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, text);
    assert.equal(strict.status, 400, strict.text);
    assert.equal(strict.json().message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name"');
    await absent('dup1');
    await absent('dup2');
    const warn = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, text);
    assert.equal(warn.status, 201, warn.text);
    assert.deepEqual(warnings(warn), ['duplicate field "metadata.name"']);
    assert.equal(warn.json().metadata.name, 'dup2');
  });

  test('updates and patches are checked too', async () => {
    await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'upd' }, data: { a: '1' } });
    const put = await admin.put(`/api/v1/namespaces/${ns}/configmaps/upd?fieldValidation=Strict`, { metadata: { name: 'upd' }, data: { a: '2' }, bogus: 1 });
    assert.equal(put.status, 400, put.text);
    assert.match(put.json().message, /strict decoding error: unknown field "bogus"/);
    // a patch's strict errors are a 422 about the patched object (jsonPatcher.applyPatchToCurrentObject)
    const patch = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/upd?fieldValidation=Strict`, { data: { a: '3' }, bogus: 1 }, 'application/merge-patch+json');
    assert.equal(patch.status, 422, patch.text);
    assert.match(patch.json().message, /^ "" is invalid: patch: Invalid value: "\{.*\}": strict decoding error: unknown field "bogus"$/);
    assert.equal(patch.json().details.causes[0].field, 'patch');
    assert.deepEqual((await admin.get(`/api/v1/namespaces/${ns}/configmaps/upd`)).json().data, { a: '1' });
    const warned = await admin.patch(`/api/v1/namespaces/${ns}/configmaps/upd`, { data: { a: '4' }, bogus: 1 }, 'application/merge-patch+json');
    assert.equal(warned.status, 200, warned.text);
    assert.deepEqual(warnings(warned), ['unknown field "bogus"']);
    assert.equal(warned.json().data.a, '4');
  });

  const optionCases: [string, string, () => Promise<Response>, string][] = [
    ['create', 'fieldValidation', () => admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldValidation=bogus`, { metadata: { name: 'opt1' } }),
      'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "bogus": supported values: "", "Ignore", "Strict", "Warn"'],
    ['update', 'fieldValidation', () => admin.put(`/api/v1/namespaces/${ns}/configmaps/upd?fieldValidation=strict`, { metadata: { name: 'upd' } }),
      'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"'],
    ['patch', 'fieldValidation', () => admin.patch(`/api/v1/namespaces/${ns}/configmaps/upd?fieldValidation=x`, {}, 'application/merge-patch+json'),
      'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "x": supported values: "", "Ignore", "Strict", "Warn"'],
    ['create', 'fieldManager', () => admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldManager=${'m'.repeat(129)}`, { metadata: { name: 'opt2' } }),
      `CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: `],
    ['create', 'fieldManager', () => admin.post(`/api/v1/namespaces/${ns}/configmaps?fieldManager=a%07b`, { metadata: { name: 'opt3' } }),
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: '],
    ['create', 'dryRun', () => admin.post(`/api/v1/namespaces/${ns}/configmaps?dryRun=Some`, { metadata: { name: 'opt4' } }),
      'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '],
  ];
  for (const [verb, option, send, message] of optionCases) {
    test(`a bad ${option} on ${verb} is 422 Invalid`, async () => {
      const res = await send();
      assert.equal(res.status, 422, res.text);
      assert.equal(res.json().reason, 'Invalid');
      assert.ok(res.json().message.startsWith(message), res.json().message);
      assert.equal(res.json().details.group, 'meta.k8s.io');
      assert.equal(res.json().details.causes[0].field, option);
      if (message.endsWith('Invalid value: ')) assert.match(res.json().message, /: invalid character U\+0007 \(at position 1\)$/);
      for (const n of ['opt1', 'opt2', 'opt3', 'opt4']) await absent(n);
    });
  }
});

describe('malformed bodies', () => {
  const cases: [string, string | Buffer, string, RegExp][] = [
    ['truncated JSON', '{"metadata":{"name":"bad-json"', 'application/json', /^couldn't get version\/kind; json parse error: /],
    ['JSON that is not an object', '["a"]', 'application/json', /^couldn't get version\/kind; json parse error: json: cannot unmarshal array into Go value of type struct/],
    ['JSON null', 'null', 'application/json', /^couldn't get version\/kind; json parse error: json: cannot unmarshal null/],
    ['broken YAML', 'metadata:\n  name: bad-yaml\n   bad: [\n', 'application/yaml', /^error converting YAML to JSON: yaml: /],
    ['protobuf without the k8s magic', Buffer.from('not protobuf at all'), 'application/vnd.kubernetes.protobuf', /^the object provided is unrecognized: provided data does not appear to be a protobuf message, expected prefix \[107 56 115 0\]$/],
    ['truncated protobuf', Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x50, 0x0a])]), 'application/vnd.kubernetes.protobuf', /^the object provided is unrecognized: /],
    ['a wrong field type', '{"metadata":{"name":"bad-type"},"data":"not-a-map"}', 'application/json', /^ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ConfigMap\.data of type map\[string\]string$/],
  ];
  for (const [name, body, contentType, message] of cases) {
    test(`${name}: 400 BadRequest, nothing stored`, async () => {
      const before = await ts.handle.store.list('/registry/configmaps/');
      const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, body, { contentType });
      assert.equal(res.status, 400, res.text);
      const status = res.json();
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'BadRequest');
      assert.match(status.message, message);
      const afterList = await ts.handle.store.list('/registry/configmaps/');
      assert.deepEqual(afterList.items.map((i) => i.key), before.items.map((i) => i.key));
    });
  }

  test('an empty body is 400', async () => {
    const res = await admin.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400, res.text);
  });

  test('an unsupported content type is 415', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, 'name=x', { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415, res.text);
    assert.equal(res.json().reason, 'UnsupportedMediaType');
    assert.equal(res.json().message, 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
  });

  test('YAML bodies are accepted', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  key: "42"\n', { contentType: 'application/yaml' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json().data, { key: '42' });
  });

  test('explicit nulls mean absent (kubectl 1.31 sends them)', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nulls', labels: null, creationTimestamp: null }, data: null, binaryData: null });
    assert.equal(res.status, 201, res.text);
    const obj = res.json();
    assert.equal(obj.data, undefined);
    assert.equal(obj.metadata.labels, undefined);
  });
});

describe('kind and apiVersion', () => {
  test('an apiVersion other than the URL\'s is 400', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'wrong-version' } });
    assert.equal(res.status, 400);
    assert.equal(res.json().message, 'the API version in the data (apps/v1) does not match the expected API version (v1)');
    await absent('wrong-version');
  });

  test('a kind other than the URL\'s is 400', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-kind' } });
    assert.equal(res.status, 400);
    assert.equal(res.json().reason, 'BadRequest');
    await absent('wrong-kind');
    await absent('wrong-kind', 'secrets');
  });

  test('a protobuf body of a kind the server does not decode is 415', async () => {
    const pb = encodeProtobufObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } as never);
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, pb, { contentType: 'application/vnd.kubernetes.protobuf' });
    assert.ok(res.status === 400 || res.status === 415, res.text);
    await absent('wrong-kind');
  });
});

describe('names and validation', () => {
  const cases: [string, string, object, string, { reason: string; message: string; field: string }[]][] = [
    ['an upper-case name', 'configmaps', { metadata: { name: 'Bad_Name' } },
      `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${DNS1123_SUBDOMAIN}`,
      [{ reason: 'FieldValueInvalid', message: `Invalid value: "Bad_Name": ${DNS1123_SUBDOMAIN}`, field: 'metadata.name' }]],
    ['a name of 254 characters', 'configmaps', { metadata: { name: 'a'.repeat(254) } },
      `ConfigMap "${'a'.repeat(254)}" is invalid: metadata.name: Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`,
      [{ reason: 'FieldValueInvalid', message: `Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`, field: 'metadata.name' }]],
    ['a label value with a space', 'configmaps', { metadata: { name: 'labelled', labels: { app: 'a b' } } },
      `ConfigMap "labelled" is invalid: metadata.labels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      [{ reason: 'FieldValueInvalid', message: `Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`, field: 'metadata.labels' }]],
  ];
  for (const [what, resource, body, message, causes] of cases) {
    test(`${what}: 422 Invalid with Kubernetes' message and causes`, async () => {
      const res = await admin.post(`/api/v1/namespaces/${ns}/${resource}`, body);
      assert.equal(res.status, 422, res.text);
      const status = res.json();
      assert.equal(status.reason, 'Invalid');
      assert.equal(status.message, message);
      assert.equal(status.details.kind, 'ConfigMap');
      assert.deepEqual(status.details.causes, causes);
      const name = (body as { metadata: { name: string } }).metadata.name;
      if (name.length <= 253) await absent(encodeURIComponent(name));
    });
  }

  test('a namespace name must be a DNS-1123 label', async () => {
    const res = await admin.post('/api/v1/namespaces', { metadata: { name: 'has.dots' } });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json().message, `Namespace "has.dots" is invalid: metadata.name: Invalid value: "has.dots": ${DNS1123_LABEL}`);
    assert.equal((await admin.get('/api/v1/namespaces/has.dots')).status, 404);
  });

  test('no name and no generateName', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { data: { a: 'b' } });
    assert.equal(res.status, 422, res.text);
    const status = res.json();
    assert.equal(status.message, 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  });

  test('an Invalid Status for an empty name has no details.name (omitempty)', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { data: {} });
    assert.equal('name' in res.json().details, false);
  });

  test('several errors are listed in one message', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'Two_Errors', labels: { 'bad key!': 'v' } } });
    assert.equal(res.status, 422, res.text);
    const status = res.json();
    assert.match(status.message, /^ConfigMap "Two_Errors" is invalid: \[metadata\.name: Invalid value: "Two_Errors": .*, metadata\.labels: Invalid value: "bad key!": .*\]$/);
    assert.equal(status.details.causes.length, 2);
  });

  test('pod validation errors name the field', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/pods`, { metadata: { name: 'nocontainers' }, spec: { containers: [] } });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json().details.kind, 'Pod');
    assert.ok(res.json().details.causes.some((c: { field: string }) => c.field === 'spec.containers'), res.text);
    await absent('nocontainers', 'pods');
  });
});

describe('size limit', () => {
  test('a body over 3 MiB is 413 and nothing is stored', async () => {
    const big = JSON.stringify({ metadata: { name: 'too-big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024) } });
    let res: Response | undefined;
    try {
      res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, big);
    } catch (err) {
      // the server may answer and close before the client has written everything
      assert.match((err as Error).message, /EPIPE|ECONNRESET|socket hang up/);
    }
    if (res) {
      assert.equal(res.status, 413, res.text.slice(0, 300));
      assert.deepEqual(res.json(), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Request entity too large: limit is 3145728',
        reason: 'RequestEntityTooLarge',
        code: 413,
      });
    }
    await absent('too-big');
    // and the server still answers
    assert.equal((await admin.get('/version')).status, 200);
  });

  test('a body just under the limit passes the HTTP layer (the object size rules then apply)', async () => {
    const res = await admin.post(`/api/v1/namespaces/${ns}/configmaps`, JSON.stringify({ metadata: { name: 'big-but-ok' }, data: { blob: 'x'.repeat(900 * 1024) } }));
    assert.equal(res.status, 201, res.text.slice(0, 300));
  });
});
