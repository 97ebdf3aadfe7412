/** Label and field selectors: the query-string forms, matching, and the 400s for malformed ones. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError } from '@boundtoken/api';
import { matchFields, matchLabels, matchLabelSelector, parseFieldSelector, parseLabelSelector } from '../../src/registry/selectors.js';

function badRequest(fn: () => unknown, includes: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isStatusError(err), `not a StatusError: ${String(err)}`);
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.ok(err.message.includes(includes), `${err.message} does not include ${includes}`);
    return true;
  });
}

describe('label selector parsing', () => {
  const cases: [string, ReturnType<typeof parseLabelSelector>][] = [
    ['app=web', [{ key: 'app', operator: '=', values: ['web'] }]],
    ['app==web', [{ key: 'app', operator: '=', values: ['web'] }]],
    ['app!=web', [{ key: 'app', operator: '!=', values: ['web'] }]],
    ['app = web', [{ key: 'app', operator: '=', values: ['web'] }]],
    ['app=', [{ key: 'app', operator: '=', values: [''] }]],
    ['env in (prod,staging)', [{ key: 'env', operator: 'in', values: ['prod', 'staging'] }]],
    ['env in (prod, staging)', [{ key: 'env', operator: 'in', values: ['prod', 'staging'] }]],
    ['env notin (dev)', [{ key: 'env', operator: 'notin', values: ['dev'] }]],
    ['env in ()', [{ key: 'env', operator: 'in', values: [''] }]],
    ['gpu', [{ key: 'gpu', operator: 'exists', values: [] }]],
    ['!legacy', [{ key: 'legacy', operator: '!', values: [] }]],
    ['example.com/tier=db', [{ key: 'example.com/tier', operator: '=', values: ['db'] }]],
    [
      'app=web,tier!=db,env in (a,b),release notin (x),gpu,!legacy',
      [
        { key: 'app', operator: '=', values: ['web'] },
        { key: 'tier', operator: '!=', values: ['db'] },
        { key: 'env', operator: 'in', values: ['a', 'b'] },
        { key: 'release', operator: 'notin', values: ['x'] },
        { key: 'gpu', operator: 'exists', values: [] },
        { key: 'legacy', operator: '!', values: [] },
      ],
    ],
    ['', []],
  ];
  for (const [selector, want] of cases) {
    test(JSON.stringify(selector), () => assert.deepEqual(parseLabelSelector(selector), want));
  }

  const errors: [string, string][] = [
    ['app=web!', 'web!'],
    ['-app=web', '-app'],
    ['app=' + 'x'.repeat(64), 'x'.repeat(64)],
    ['a/b/c=d', 'a/b/c'],
    ['env in (a!)', 'a!'],
    ['(app)', '(app)'],
    ['=web', '=web'],
  ];
  for (const [selector, includes] of errors) {
    test(`${JSON.stringify(selector)} is a 400`, () => badRequest(() => parseLabelSelector(selector), includes));
  }
});

describe('label selector matching', () => {
  const labels = { app: 'web', env: 'prod', 'example.com/tier': 'front' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['app=web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    // != and notin match objects without the label
    ['missing!=x', labels, true],
    ['missing notin (x)', labels, true],
    ['missing in (x)', labels, false],
    ['env in (prod,staging)', labels, true],
    ['env in (staging)', labels, false],
    ['env notin (prod)', labels, false],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['example.com/tier=front', labels, true],
    ['app=web,env=prod', labels, true],
    ['app=web,env=dev', labels, false],
    ['', labels, true],
    ['app=web', undefined, false],
    ['app!=web', undefined, true],
    ['!app', undefined, true],
    // an empty value matches only an empty label, not a missing one
    ['app=', { app: '' }, true],
    ['app=', {}, false],
  ];
  for (const [selector, set, want] of cases) {
    test(`${JSON.stringify(selector)} on ${JSON.stringify(set)} → ${want}`, () => {
      assert.equal(matchLabels(parseLabelSelector(selector), set), want);
    });
  }

  test('matchLabels / matchExpressions of a metav1.LabelSelector', () => {
    const l = { app: 'web', env: 'prod' };
    assert.equal(matchLabelSelector({}, l), true);
    assert.equal(matchLabelSelector({ matchLabels: { app: 'web' } }, l), true);
    assert.equal(matchLabelSelector({ matchLabels: { app: 'db' } }, l), false);
    assert.equal(matchLabelSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }] }, l), true);
    assert.equal(matchLabelSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, l), false);
    assert.equal(matchLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, l), true);
    assert.equal(matchLabelSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, l), false);
    assert.equal(matchLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, l), false);
  });
});

describe('field selectors', () => {
  const cases: [string, ReturnType<typeof parseFieldSelector>][] = [
    ['metadata.name=p1', [{ key: 'metadata.name', operator: '=', values: ['p1'] }]],
    ['metadata.name==p1', [{ key: 'metadata.name', operator: '=', values: ['p1'] }]],
    ['spec.nodeName!=n1', [{ key: 'spec.nodeName', operator: '!=', values: ['n1'] }]],
    ['spec.nodeName=', [{ key: 'spec.nodeName', operator: '=', values: [''] }]],
    [
      'metadata.namespace=ns,status.phase!=Running',
      [
        { key: 'metadata.namespace', operator: '=', values: ['ns'] },
        { key: 'status.phase', operator: '!=', values: ['Running'] },
      ],
    ],
    ['', []],
  ];
  for (const [selector, want] of cases) {
    test(JSON.stringify(selector), () => assert.deepEqual(parseFieldSelector(selector), want));
  }

  for (const selector of ['spec.nodeName', 'metadata.name=p1,foo', '!x']) {
    test(`${JSON.stringify(selector)} is a 400`, () => badRequest(() => parseFieldSelector(selector), "can't understand"));
  }

  test('matching compares strings; a missing field is empty', () => {
    const fields = { 'metadata.name': 'p1', 'spec.nodeName': '' };
    assert.equal(matchFields(parseFieldSelector('metadata.name=p1'), fields), true);
    assert.equal(matchFields(parseFieldSelector('metadata.name=p2'), fields), false);
    assert.equal(matchFields(parseFieldSelector('metadata.name!=p2'), fields), true);
    assert.equal(matchFields(parseFieldSelector('spec.nodeName='), fields), true);
    assert.equal(matchFields(parseFieldSelector('spec.nodeName!='), fields), false);
    assert.equal(matchFields(parseFieldSelector('metadata.name=p1,spec.nodeName=n1'), fields), false);
  });
});
