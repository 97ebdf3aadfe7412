import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken agent` — not implemented yet. */
export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('agent: not implemented yet');
    });
}
