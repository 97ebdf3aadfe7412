/**
 * A pool of signing workers (`worker_threads`, one per core by default) so token issuance scales
 * with cores: RSA signing costs about a millisecond, which the event loop should not pay.
 *
 * The main thread serialises the claims and builds the signing input (cheap); workers only run
 * `crypto.sign`. Requests made in the same tick are batched into one message per worker, and each
 * worker may have two batches in flight, so message passing is amortised under load.
 *
 * Workers run an inline CommonJS script (`eval: true`), so the pool works the same whether this
 * module was loaded from `src/` through tsx or from compiled `dist/` — there is no worker file to
 * resolve — and workers start without the parent's loaders (`execArgv: []`).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { serializeClaims } from './claims.js';
import { HASH_OF, type SigningAlgorithm } from './lib/algorithms.js';
import type { SigningKey } from './keys.js';
import { encodedHeader } from './signer.js';

export interface SigningPool {
  readonly size: number;
  /** A compact JWS of `claims`, signed by a worker. Rejects after close(). */
  sign(claims: object): Promise<string>;
  /** Finishes the requests already made, then stops the workers. */
  close(): Promise<void>;
}

export interface SigningPoolOptions {
  /** Number of workers; default os.availableParallelism(). */
  size?: number;
}

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign } = require('node:crypto');
const key = createPrivateKey(workerData.pem);
const options = workerData.ec ? { key, dsaEncoding: 'ieee-p1363' } : key;
const hash = workerData.hash;
parentPort.on('message', (msg) => {
  const inputs = msg.inputs;
  const sigs = new Array(inputs.length);
  try {
    for (let i = 0; i < inputs.length; i++) {
      sigs[i] = sign(hash, Buffer.from(inputs[i], 'latin1'), options).toString('base64url');
    }
    parentPort.postMessage({ id: msg.id, sigs });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String((err && err.message) || err) });
  }
});
`;

const MAX_BATCH = 64;
const MAX_BATCHES_IN_FLIGHT = 2;

interface Job {
  input: string;
  resolve: (token: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  batches: Map<number, Job[]>;
  jobs: number;
  dead: boolean;
}

type Reply = { id: number; sigs: string[] } | { id: number; error: string };

export function createSigningPool(key: SigningKey, opts: SigningPoolOptions = {}): SigningPool {
  if (typeof key !== 'object' || key === null || typeof key.privateKeyPem !== 'string') {
    throw new TypeError('createSigningPool: expected a SigningKey (see loadSigningKey / generateSigningKey)');
  }
  const size = opts.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 1 || size > 256) throw new TypeError('createSigningPool: size must be an integer from 1 to 256');
  const alg: SigningAlgorithm = key.alg;
  const hash = HASH_OF[alg];
  if (hash === undefined) throw new TypeError(`createSigningPool: unsupported algorithm ${String(alg)}`);
  const headerPrefix = encodedHeader(alg, key.kid) + '.';
  const workerData = { pem: key.privateKeyPem, hash, ec: alg !== 'RS256' };

  const queue: Job[] = [];
  const slots: Slot[] = [];
  let nextBatchId = 1;
  let flushScheduled = false;
  let closing = false;
  let closed: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  let failures = 0;
  let broken: Error | undefined;

  function spawn(index: number): void {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] });
    worker.unref();
    const slot: Slot = { worker, batches: new Map(), jobs: 0, dead: false };
    slots[index] = slot;
    worker.on('message', (reply: Reply) => {
      const jobs = slot.batches.get(reply.id);
      if (!jobs) return;
      failures = 0;
      slot.batches.delete(reply.id);
      slot.jobs -= jobs.length;
      if (slot.jobs === 0) worker.unref();
      if ('error' in reply) {
        const err = new Error(`signing failed: ${reply.error}`);
        for (const job of jobs) job.reject(err);
      } else {
        for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(jobs[i]!.input + '.' + reply.sigs[i]);
      }
      flush();
    });
    const fail = (err: Error): void => {
      if (slots[index] !== slot || slot.dead) return;
      slot.dead = true;
      for (const jobs of slot.batches.values()) for (const job of jobs) job.reject(err);
      slot.batches.clear();
      slot.jobs = 0;
      failures++;
      if (!closing && failures <= 3 * size) {
        spawn(index);
      } else if (slots.every((s) => s.dead)) {
        // nothing left to sign with (closing, or workers keep dying at start): fail what is queued
        broken ??= err;
        for (const job of queue.splice(0)) job.reject(err);
      }
      flush();
    };
    worker.on('error', (err) => fail(new Error(`signing worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new Error(`signing worker exited with code ${code}`)));
  }

  function flush(): void {
    flushScheduled = false;
    while (queue.length > 0) {
      let best: Slot | undefined;
      for (const s of slots) {
        if (!s.dead && s.batches.size < MAX_BATCHES_IN_FLIGHT && (best === undefined || s.jobs < best.jobs)) best = s;
      }
      if (best === undefined) break;
      const n = Math.min(MAX_BATCH, Math.max(1, Math.ceil(queue.length / size)));
      const jobs = queue.splice(0, n);
      const id = nextBatchId++;
      best.batches.set(id, jobs);
      if (best.jobs === 0) best.worker.ref();
      best.jobs += jobs.length;
      best.worker.postMessage({ id, inputs: jobs.map((j) => j.input) });
    }
    if (closing && queue.length === 0 && slots.every((s) => s.jobs === 0)) drained?.();
  }

  for (let i = 0; i < size; i++) spawn(i);

  return {
    size,
    sign(claims: object): Promise<string> {
      if (closing) return Promise.reject(new Error('signing pool is closed'));
      if (broken) return Promise.reject(broken);
      let input: string;
      try {
        input = headerPrefix + Buffer.from(serializeClaims(claims), 'utf8').toString('base64url');
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise<string>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
      });
    },
    close(): Promise<void> {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        drained = resolve;
        flush();
      }).then(async () => {
        await Promise.all(slots.map((s) => s.worker.terminate()));
      });
      return closed;
    },
  };
}
