/** The CLI's logger: pino JSON lines on stderr (stdout is for command output). */
import { pino, destination, type Logger } from 'pino';

export function createLogger(level = 'info', name = 'boundtoken'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination({ fd: 2, sync: false }));
}
