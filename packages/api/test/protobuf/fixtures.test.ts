// The protobuf bodies kubectl 1.32.4 sent to a logging stub (copied from shared/fixtures): each decodes to
// the exact JSON object, and encoding that object gives back the same bytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { KubeObject } from '@boundtoken/api';
import { decodeProtobufObject, encodeProtobufObject, PROTOBUF_MEDIA_TYPE } from '@boundtoken/api/protobuf';

interface FixtureRequest {
  command: string;
  contentType: string;
  bodyBase64: string;
}

const fixtures: FixtureRequest[] = readFileSync(new URL('fixtures/kubectl-1.32.4-protobuf.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as FixtureRequest);

const emptyTokenRequest = {
  kind: 'TokenRequest',
  apiVersion: 'authentication.k8s.io/v1',
  metadata: {},
  spec: {},
  status: { token: '' },
};

const expected: Record<string, KubeObject> = {
  'kubectl create token default': emptyTokenRequest,
  'kubectl create token default -o json': emptyTokenRequest,
  'kubectl create token default -n ns1 --audience istio-ca --duration 12h --bound-object-kind Pod --bound-object-name p1 --bound-object-uid 1234':
    {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: {
        audiences: ['istio-ca'],
        expirationSeconds: 43200,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: '1234' },
      },
      status: { token: '' },
    },
  'kubectl auth whoami': {
    kind: 'SelfSubjectReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {},
    status: { userInfo: {} },
  },
};

describe('kubectl 1.32.4 protobuf fixtures', () => {
  test('every fixture has an expectation', () => {
    assert.equal(fixtures.length, 4);
    for (const f of fixtures) {
      assert.equal(f.contentType, PROTOBUF_MEDIA_TYPE);
      assert.ok(expected[f.command], f.command);
    }
  });

  for (const f of fixtures) {
    test(`decodes: ${f.command}`, () => {
      assert.deepStrictEqual(decodeProtobufObject(Buffer.from(f.bodyBase64, 'base64')), expected[f.command]);
    });

    test(`re-encodes byte for byte: ${f.command}`, () => {
      assert.equal(encodeProtobufObject(expected[f.command]!).toString('base64'), f.bodyBase64);
    });
  }
});
