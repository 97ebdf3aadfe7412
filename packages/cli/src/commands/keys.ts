/**
 * `boundtoken keys` — service account signing keys.
 *   keys generate --type rsa|ec [--bits N | --curve P-256|P-384|P-521] --out FILE [--force]
 *       writes the private key (PKCS#8 PEM, mode 0600) to FILE and the public key (SPKI PEM, 0644)
 *       to FILE.pub, atomically, and prints the key's kid.
 *   keys kid FILE
 *       prints the kid and algorithm of every verification key in a PEM file (keyutil rules).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { atomicWriteFileSync } from '@boundtoken/server';
import { KeyError, generateSigningKey, loadPublicKeys, publicKeyPem, type GenerateKeyOptions } from '@boundtoken/token';
import { CliError } from '../errors.js';

export interface KeysIo {
  write(text: string): void;
  writeErr(text: string): void;
}

const defaultIo = (): KeysIo => ({
  write: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text),
});

export interface GenerateFlags {
  type: string;
  bits?: string;
  curve?: string;
  out: string;
  force?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('generate and inspect service account signing keys');
  keys
    .command('generate')
    .description('generate a signing key: FILE (private, 0600) and FILE.pub (public); prints the kid')
    .addOption(new Option('--type <type>', 'key type').choices(['rsa', 'ec']).default('rsa'))
    .option('--bits <n>', 'RSA modulus size (default 2048)')
    .option('--curve <curve>', 'EC curve: P-256 (default), P-384 or P-521')
    .requiredOption('--out <file>', 'private key file; the public key goes to <file>.pub')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nExample:\n  boundtoken keys generate --type ec --curve P-256 --out sa.key')
    .action((flags: GenerateFlags) => {
      runGenerate(flags, defaultIo());
    });
  keys
    .command('kid')
    .description('print the kid and algorithm of each verification key in a PEM file')
    .argument('<file>', 'PEM file (public keys, private keys or certificates)')
    .action((file: string) => {
      runKid(file, defaultIo());
    });
}

function keyOptions(flags: GenerateFlags): GenerateKeyOptions {
  if (flags.type === 'rsa') {
    if (flags.curve !== undefined) throw new CliError('keys generate: --curve applies to EC keys only');
    if (flags.bits === undefined) return { type: 'rsa' };
    const bits = Number(flags.bits);
    if (!/^\d+$/.test(flags.bits) || bits < 2048 || bits > 16384 || bits % 8 !== 0) {
      throw new CliError(`keys generate: --bits must be a multiple of 8 from 2048 to 16384, got ${flags.bits}`);
    }
    return { type: 'rsa', bits };
  }
  if (flags.type === 'ec') {
    if (flags.bits !== undefined) throw new CliError('keys generate: --bits applies to RSA keys only (use --curve)');
    const curve = (flags.curve ?? 'P-256').toUpperCase();
    if (curve !== 'P-256' && curve !== 'P-384' && curve !== 'P-521') {
      throw new CliError(`keys generate: --curve must be P-256, P-384 or P-521, got ${flags.curve}`);
    }
    return { type: 'ec', curve };
  }
  throw new CliError(`keys generate: --type must be rsa or ec, got ${flags.type}`);
}

export function runGenerate(flags: GenerateFlags, io: KeysIo): void {
  const options = keyOptions(flags);
  const privatePath = flags.out;
  const publicPath = `${flags.out}.pub`;
  if (!flags.force) {
    for (const path of [privatePath, publicPath]) {
      if (existsSync(path)) throw new CliError(`keys generate: ${path} already exists (use --force to overwrite)`);
    }
  }
  const key = generateSigningKey(options);
  try {
    atomicWriteFileSync(privatePath, key.privateKeyPem, 0o600);
    atomicWriteFileSync(publicPath, publicKeyPem(key), 0o644);
  } catch (err) {
    throw new CliError(`keys generate: cannot write ${privatePath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const details = options.type === 'rsa' ? `RSA ${options.bits ?? 2048}` : `EC ${options.curve}`;
  io.writeErr(`wrote ${privatePath} (${details}, ${key.alg}) and ${publicPath}\n`);
  io.write(`${key.kid}\n`);
}

export function runKid(file: string, io: KeysIo): void {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new CliError(`keys kid: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    for (const key of loadPublicKeys(pem)) io.write(`${key.kid}  ${key.alg}\n`);
  } catch (err) {
    if (err instanceof KeyError) throw new CliError(`keys kid: ${file}: ${err.message}`);
    throw err;
  }
}
