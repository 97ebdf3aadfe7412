import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken keys` — not implemented yet. */
export function registerKeys(program: Command): void {
  program
    .command('keys')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('keys: not implemented yet');
    });
}
