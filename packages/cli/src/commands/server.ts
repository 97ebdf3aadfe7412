import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken server` — not implemented yet. */
export function registerServer(program: Command): void {
  program
    .command('server')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('server: not implemented yet');
    });
}
