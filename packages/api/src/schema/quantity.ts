/**
 * resource.Quantity as Kubernetes parses and re-serializes it (k8s.io/apimachinery/pkg/api/resource):
 * `cpu: 0.5` is stored as `"500m"`, `memory: 1536Mi` stays `"1536Mi"`, `2048Ki` becomes `"2Mi"`.
 * Exact arithmetic with bigint; precision finer than nano is rounded up, as Kubernetes does.
 */

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

type Format = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const BINARY_BY_EXPONENT = new Map(Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s]));
const SUFFIX_CHARS = 'eEinumkKMGTP';

/** A parse failure; the message is Kubernetes' wording. */
export class QuantityError extends Error {
  override name = 'QuantityError';
}

/**
 * The canonical string form of a quantity given as a string or a JSON number, or a QuantityError.
 */
export function canonicalQuantity(input: string | number): string {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  const q = parse(text);
  return format(q.unscaled, q.scale, q.format);
}

interface Parsed {
  /** value = unscaled × 10^scale */
  unscaled: bigint;
  scale: number;
  format: Format;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  return String(n).replace('e+', 'e');
}

function parse(str: string): Parsed {
  if (str.length === 0) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  let pos = 0;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < str.length && str[pos] === '0') pos++;
  let end = pos;
  while (end < str.length && isDigit(str[end]!)) end++;
  const num = str.slice(pos, end) || '0';
  pos = end;
  let denom = '';
  if (pos < str.length && str[pos] === '.') {
    pos++;
    end = pos;
    while (end < str.length && isDigit(str[end]!)) end++;
    denom = str.slice(pos, end);
    pos = end;
  }
  const suffixStart = pos;
  while (pos < str.length && SUFFIX_CHARS.includes(str[pos]!)) pos++;
  if (pos < str.length && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < str.length && isDigit(str[pos]!)) pos++;
  if (pos < str.length) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const suffix = str.slice(suffixStart);

  let unscaled = BigInt(num + denom);
  let scale = -denom.length;
  let fmt: Format;
  if (suffix in DECIMAL_SUFFIXES) {
    fmt = 'DecimalSI';
    scale += DECIMAL_SUFFIXES[suffix]!;
  } else if (suffix in BINARY_SUFFIXES) {
    fmt = 'BinarySI';
    unscaled <<= BigInt(BINARY_SUFFIXES[suffix]!);
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    fmt = 'DecimalExponent';
    scale += Number.parseInt(suffix.slice(1), 10);
  } else {
    throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  }
  if (scale < -9) {
    // the one place precision is lost: round up (away from zero) to nano units
    const div = 10n ** BigInt(-9 - scale);
    unscaled = (unscaled + div - 1n) / div;
    scale = -9;
  }
  return { unscaled: positive ? unscaled : -unscaled, scale, format: fmt };
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function format(unscaled: bigint, scale: number, fmt: Format): string {
  if (unscaled === 0n) return '0';
  const negative = unscaled < 0n;
  let amount = negative ? -unscaled : unscaled;
  const sign = negative ? '-' : '';

  if (fmt === 'BinarySI') {
    const whole = integerValue(amount, scale);
    if (whole === undefined || whole < 1024n) {
      fmt = 'DecimalSI';
    } else {
      let exponent = 0;
      let v = whole;
      while (v % 1024n === 0n && exponent < 60) {
        v /= 1024n;
        exponent += 10;
      }
      return `${sign}${v}${BINARY_BY_EXPONENT.get(exponent) ?? ''}`;
    }
  }

  let exponent = scale;
  while (amount % 10n === 0n) {
    amount /= 10n;
    exponent++;
  }
  const rem = ((exponent % 3) + 3) % 3;
  if (rem !== 0) {
    amount *= 10n ** BigInt(rem);
    exponent -= rem;
  }
  if (fmt === 'DecimalExponent') return `${sign}${amount}${exponent === 0 ? '' : `e${exponent}`}`;
  const suffix = DECIMAL_BY_EXPONENT.get(exponent);
  return suffix === undefined ? `${sign}${amount}e${exponent}` : `${sign}${amount}${suffix}`;
}

/** The value as an integer if it has no fractional part. */
function integerValue(amount: bigint, scale: number): bigint | undefined {
  if (scale >= 0) return amount * 10n ** BigInt(scale);
  const div = 10n ** BigInt(-scale);
  return amount % div === 0n ? amount / div : undefined;
}
