/**
 * Tiny measurement helpers shared by the benchmarks: run an operation for a fixed time and report
 * operations per second, and print result tables with ratios and targets.
 */
import { performance } from 'node:perf_hooks';

export interface Rate {
  name: string;
  opsPerSec: number;
}

/** Runs `fn` repeatedly for about `ms` milliseconds (after a short warm-up) and returns ops/s. */
export function rateSync(name: string, fn: () => unknown, ms = 1000): Rate {
  const warmEnd = performance.now() + Math.min(200, ms / 5);
  while (performance.now() < warmEnd) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  const end = start + ms;
  while (now < end) {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    now = performance.now();
  }
  return { name, opsPerSec: (n * 1000) / (now - start) };
}

/** Like rateSync, for async operations, with `concurrency` operations in flight. */
export async function rateAsync(name: string, fn: () => Promise<unknown>, ms = 1000, concurrency = 1): Promise<Rate> {
  const warmEnd = performance.now() + Math.min(200, ms / 5);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < warmEnd) await fn();
    }),
  );
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return { name, opsPerSec: (n * 1000) / (performance.now() - start) };
}

export function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

/** Prints `name  ops/s  ratio  target` rows; the ratio is against `baseline`. */
export function printRates(title: string, rows: Rate[], baseline: Rate, targets: Record<string, string> = {}): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.name.length), baseline.name.length) + 2;
  console.log(`  ${'operation'.padEnd(w)}${'ops/s'.padStart(12)}${'ratio'.padStart(10)}  target`);
  for (const r of rows) {
    const ratio = r.opsPerSec / baseline.opsPerSec;
    const target = targets[r.name] ?? '';
    console.log(`  ${r.name.padEnd(w)}${fmt(r.opsPerSec).padStart(12)}${ratio.toFixed(2).padStart(9)}x  ${target}`);
  }
}

/** Percentile (0..100) of an unsorted array of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
