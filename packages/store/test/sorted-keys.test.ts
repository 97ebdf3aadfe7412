import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SortedKeys } from '../src/internal/sorted-keys.js';

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

test('SortedKeys agrees with a sorted array through inserts, deletes and range scans', () => {
  const random = prng(7);
  const keys = new SortedKeys();
  const reference = new Set<string>();
  for (let step = 0; step < 20_000; step++) {
    const key = `/registry/pods/ns-${Math.floor(random() * 20)}/p${Math.floor(random() * 3000)}`;
    if (random() < 0.7) {
      keys.add(key);
      reference.add(key);
    } else {
      keys.delete(key);
      reference.delete(key);
    }
    if (step % 997 === 0) {
      const sorted = [...reference].sort();
      assert.equal(keys.size, sorted.length);
      assert.deepEqual([...keys.from('')], sorted);
      const probe = `/registry/pods/ns-${Math.floor(random() * 20)}/p${Math.floor(random() * 3000)}`;
      assert.deepEqual([...keys.from(probe)], sorted.filter((k) => k >= probe));
      assert.deepEqual([...keys.from(probe, true)], sorted.filter((k) => k > probe));
    }
  }
});

test('SortedKeys edge cases', () => {
  const keys = new SortedKeys();
  assert.deepEqual([...keys.from('a')], []);
  keys.delete('missing');
  keys.add('b');
  keys.add('b');
  keys.add('a');
  keys.add('c');
  assert.equal(keys.size, 3);
  assert.deepEqual([...keys.from('b', true)], ['c']);
  assert.deepEqual([...keys.from('z')], []);
  keys.delete('a');
  keys.delete('b');
  keys.delete('c');
  assert.equal(keys.size, 0);
  assert.deepEqual([...keys.from('')], []);
});
