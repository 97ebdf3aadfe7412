/**
 * Kubernetes resource quantities (`500m`, `2Gi`, `1e3`, `1.5k`) as exact rationals, for the
 * downward API's resourceFieldRef. Only what the kubelet needs: parse, and Value()/MilliValue()
 * (both round up to a whole number).
 */
import { AgentError } from '../errors.js';

export interface Quantity {
  /** value = num / den, den > 0 */
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

export function parseQuantity(text: string): Quantity {
  const m = PATTERN.exec(text.trim());
  if (!m) throw new AgentError('ERR_FIELD_PATH', `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  const [, sign, digits, suffix = ''] = m;
  const [whole, frac = ''] = digits!.split('.');
  let num = BigInt(`${whole || '0'}${frac}`);
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY) num *= BINARY[suffix]!;
  else {
    const exp = suffix in DECIMAL ? DECIMAL[suffix]! : Number(suffix.slice(1));
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  if (sign === '-') num = -num;
  return { num, den };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n === b > 0n ? q + 1n : q;
}

/** Quantity.Value(): rounded up to an integer. */
export function quantityValue(q: Quantity): bigint {
  return ceilDiv(q.num, q.den);
}

/** Quantity.MilliValue(): value × 1000, rounded up. */
export function quantityMilliValue(q: Quantity): bigint {
  return ceilDiv(q.num * 1000n, q.den);
}

export function isZero(q: Quantity): boolean {
  return q.num === 0n;
}
