export { main, buildProgram, VERSION } from './main.js';
export { CliError } from './errors.js';
