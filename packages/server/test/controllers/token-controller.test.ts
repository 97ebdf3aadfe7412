/**
 * The legacy token controller (tokens_controller.go): what it fills in a service-account-token
 * Secret and what it leaves, and the reference it removes from the ServiceAccount when such a
 * Secret is deleted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(() => ts?.close());

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('legacy token controller', () => {
  test('a namespace already in the Secret is kept (only an empty one is filled)', async () => {
    const ns = await ts.namespace('tokctl');
    const res = await ts.admin.post(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'kept', annotations: { 'kubernetes.io/service-account.name': 'default' } },
      type: 'kubernetes.io/service-account-token',
      data: { namespace: b64('foo') },
    });
    assert.equal(res.status, 201, res.text);
    const secret = await waitFor('the token', async () => {
      const s = (await ts.admin.get(`/api/v1/namespaces/${ns}/secrets/kept`)).json();
      return s.data?.token ? s : undefined;
    });
    assert.equal(secret.data.namespace, b64('foo'));
    assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), ts.handle.pki.ca.certPem);
  });

  test('a deleted token Secret is removed from its ServiceAccount\'s secrets; other references stay', async () => {
    const ns = await ts.namespace('tokctl');
    const sa = await ts.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      metadata: { name: 'robot' },
      secrets: [{ name: 'robot-token' }, { name: 'other' }],
    });
    assert.equal(sa.status, 201, sa.text);
    await ts.admin.post(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'robot-token', annotations: { 'kubernetes.io/service-account.name': 'robot' } },
      type: 'kubernetes.io/service-account-token',
    });
    await waitFor('the token', async () => (await ts.admin.get(`/api/v1/namespaces/${ns}/secrets/robot-token`)).json().data?.token);
    assert.equal((await ts.admin.delete(`/api/v1/namespaces/${ns}/secrets/robot-token`)).status, 200);
    const left = await waitFor('the reference to go', async () => {
      const s = (await ts.admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/robot`)).json();
      return s.secrets?.length === 1 ? s : undefined;
    });
    assert.deepEqual(left.secrets, [{ name: 'other' }]);
  });
});
