import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conflict, field, invalid, notFound, OPTIMISTIC_LOCK_MESSAGE } from '@boundtoken/api';

test('notFound names the qualified resource', () => {
  const err = notFound({ group: '', resource: 'serviceaccounts' }, 'x');
  assert.equal(err.code, 404);
  assert.deepEqual(err.status, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'serviceaccounts "x" not found',
    reason: 'NotFound',
    details: { name: 'x', kind: 'serviceaccounts' },
    code: 404,
  });
  assert.equal(notFound({ group: 'rbac.authorization.k8s.io', resource: 'roles' }, 'r').message, 'roles.rbac.authorization.k8s.io "r" not found');
});

test('invalid renders one error bare and several in brackets, with causes', () => {
  const one = invalid({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, '', [
    field.invalid('spec.expirationSeconds', 599, 'may not specify a duration less than 10 minutes'),
  ]);
  assert.equal(
    one.message,
    'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
  );
  assert.deepEqual(one.status.details?.causes, [
    {
      reason: 'FieldValueInvalid',
      message: 'Invalid value: 599: may not specify a duration less than 10 minutes',
      field: 'spec.expirationSeconds',
    },
  ]);
  const two = invalid({ group: '', kind: 'Pod' }, 'p', [field.required('spec.containers'), field.invalid('metadata.name', 'A', 'bad')]);
  assert.equal(two.message, 'Pod "p" is invalid: [spec.containers: Required value, metadata.name: Invalid value: "A": bad]');
  assert.equal(two.code, 422);
});

test('conflict carries the optimistic lock message', () => {
  const err = conflict({ group: '', resource: 'pods' }, 'p', OPTIMISTIC_LOCK_MESSAGE);
  assert.equal(err.message, `Operation cannot be fulfilled on pods "p": ${OPTIMISTIC_LOCK_MESSAGE}`);
  assert.equal(err.reason, 'Conflict');
});
