import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** `boundtoken kubeconfig` — not implemented yet. */
export function registerKubeconfig(program: Command): void {
  program
    .command('kubeconfig')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('kubeconfig: not implemented yet');
    });
}
