/**
 * Raw `crypto.sign` on several threads at once: what the machine gives that many signing threads
 * right now. On a dedicated machine this is about raw sign × cores; on a shared one it is less,
 * and it shows how much of the "× cores" baseline was there to be had during the run.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign } = require('node:crypto');
const key = createPrivateKey(workerData.pem);
const opts = workerData.ec ? { key, dsaEncoding: 'ieee-p1363' } : key;
const input = Buffer.from(workerData.input, 'latin1');
const until = (ms) => { const end = performance.now() + ms; let n = 0; let now; do { sign('sha256', input, opts); n++; now = performance.now(); } while (now < end); return n; };
until(100);
const start = performance.now();
const n = until(workerData.ms);
parentPort.postMessage({ n, ms: performance.now() - start });
`;

/** Signatures per second, summed over `threads` workers signing `input` for about `ms` each. */
export async function parallelSignRate(privateKeyPem: string, ec: boolean, input: string, threads: number, ms: number): Promise<number> {
  const rates = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { pem: privateKeyPem, ec, input, ms }, execArgv: [] });
          w.once('message', (m: { n: number; ms: number }) => {
            resolve((m.n * 1000) / m.ms);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}
