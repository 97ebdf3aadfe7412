/**
 * The agent logs through this small interface, a subset of pino's, so `boundtoken up` can hand it
 * the server's pino logger. `createJsonLogger` writes pino-style JSON lines without a dependency.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: Record<Exclude<LogLevel, 'silent'>, number> = { debug: 20, info: 30, warn: 40, error: 50 };

export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void;
  /** Fields added to every line. */
  base?: Record<string, unknown>;
  now?: () => number;
}

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const min = options.level === 'silent' ? Infinity : LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.base ?? {};
  const now = options.now ?? Date.now;
  const log = (level: Exclude<LogLevel, 'silent'>) => (obj: object, msg?: string) => {
    const n = LEVELS[level];
    if (n < min) return;
    const fields: Record<string, unknown> = { level: n, time: now(), ...base };
    for (const [k, v] of Object.entries(obj)) fields[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : v;
    if (msg !== undefined) fields.msg = msg;
    write(`${JSON.stringify(fields)}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
