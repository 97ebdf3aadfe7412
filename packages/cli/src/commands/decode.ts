import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken decode` — not implemented yet. */
export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('decode: not implemented yet');
    });
}
