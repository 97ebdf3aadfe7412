/**
 * `boundtoken decode [TOKEN|FILE|-]` — the jwt.io view of a token, without verifying it: header and
 * payload as indented JSON, then `iat`, `nbf`, `exp` and `warnafter` as UTC times with the time
 * left or passed. A malformed token is one error line and exit code 1.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { TokenError, decodeToken, type DecodedToken } from '@boundtoken/token';
import { CliError } from '../errors.js';

/** Tokens are ~1 KiB; refuse to slurp more than this from a file or stdin. */
const MAX_INPUT_BYTES = 1024 * 1024;

export interface DecodeIo {
  write(text: string): void;
  stdin: Readable & { isTTY?: boolean };
  /** Seconds since the epoch. */
  now(): number;
}

const defaultIo = (): DecodeIo => ({
  write: (text) => process.stdout.write(text),
  stdin: process.stdin,
  now: () => Date.now() / 1000,
});

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('show the header, claims and times of a token (not verified)')
    .argument('[token]', 'a token, a file containing one (e.g. a projected token path), or - for stdin')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  boundtoken decode eyJhbGciOiJSUzI1NiIs...\n' +
        '  boundtoken decode /var/run/secrets/kubernetes.io/serviceaccount/token\n' +
        '  kubectl create token default | boundtoken decode -',
    )
    .action(async (token: string | undefined) => {
      await runDecode(token, defaultIo());
    });
}

/** Runs `decode` for one argument (undefined or "-" reads stdin). */
export async function runDecode(arg: string | undefined, io: DecodeIo): Promise<void> {
  const raw = await readInput(arg, io);
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  let decoded: DecodedToken;
  try {
    decoded = decodeToken(token);
  } catch (err) {
    if (err instanceof TokenError) throw new CliError(`invalid token: ${err.message}`);
    throw err;
  }
  io.write(formatDecoded(decoded, io.now()));
}

async function readInput(arg: string | undefined, io: DecodeIo): Promise<string> {
  if (arg === undefined || arg === '-') {
    if (arg === undefined && io.stdin.isTTY) {
      throw new CliError('decode: no token given (pass a token, a token file, or - to read stdin)');
    }
    return readStream(io.stdin);
  }
  if (looksLikeFile(arg)) {
    let size: number;
    try {
      size = statSync(arg).size;
    } catch (err) {
      throw new CliError(`decode: cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (size > MAX_INPUT_BYTES) throw new CliError(`decode: ${arg} is larger than ${MAX_INPUT_BYTES} bytes; not a token`);
    try {
      return readFileSync(arg, 'utf8');
    } catch (err) {
      throw new CliError(`decode: cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return arg;
}

/** A path of an existing file, or something that cannot be a token (base64url has no '/'). */
function looksLikeFile(arg: string): boolean {
  if (arg.includes('/')) return true;
  try {
    return statSync(arg).isFile();
  } catch {
    return false;
  }
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_INPUT_BYTES) throw new CliError(`decode: input is larger than ${MAX_INPUT_BYTES} bytes; not a token`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'warnafter'] as const;

/** The decode output for a token at `nowSeconds`. */
export function formatDecoded(decoded: DecodedToken, nowSeconds: number): string {
  const lines: string[] = [];
  lines.push('Header:', JSON.stringify(decoded.header, null, 2), '');
  lines.push('Payload:', JSON.stringify(decoded.payload, null, 2), '');
  lines.push(`Signature: ${decoded.signature.length} bytes, ${String(decoded.header.alg)} (not verified)`, '');
  const k8s = decoded.payload['kubernetes.io'];
  const values: Record<(typeof TIME_CLAIMS)[number], unknown> = {
    iat: decoded.payload.iat,
    nbf: decoded.payload.nbf,
    exp: decoded.payload.exp,
    warnafter: typeof k8s === 'object' && k8s !== null ? (k8s as Record<string, unknown>).warnafter : undefined,
  };
  const present = TIME_CLAIMS.filter((name) => values[name] !== undefined);
  if (present.length === 0) {
    lines.push('Times: none (no iat, nbf, exp or warnafter claim)');
  } else {
    lines.push('Times (UTC):');
    for (const name of present) lines.push(`  ${name.padEnd(10)} ${formatTime(values[name], nowSeconds)}`);
  }
  return lines.join('\n') + '\n';
}

function formatTime(value: unknown, now: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `not a number: ${JSON.stringify(value)}`;
  const date = new Date(Math.trunc(value) * 1000);
  if (Number.isNaN(date.getTime())) return `out of range: ${value}`;
  const when = date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  const delta = Math.trunc(value) - Math.floor(now);
  const relative = delta === 0 ? 'now' : delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
  return `${when}  (${relative})`;
}

/** The two largest units of a duration: `364d 23h`, `59m 12s`, `42s`. */
export function formatDuration(seconds: number): string {
  const units: Array<[string, number]> = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}
