import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken up` — not implemented yet. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('up: not implemented yet');
    });
}
