/**
 * The process logger: pino, JSON lines on stdout, written asynchronously so logging never
 * blocks the request path. Secrets are redacted wherever they could appear.
 */
import { pino, destination, stdTimeFunctions, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/** Paths pino removes from any log object (tokens, keys, cookies). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'authorization',
  'cookie',
  'token',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Write synchronously (CLI commands and tests that read stdout right away). */
  sync?: boolean;
  /** Destination stream (tests); defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = (process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? opts.level ?? 'info';
  const dest = opts.destination ?? destination({ dest: 1, sync: opts.sync ?? false, minLength: 0 });
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      messageKey: 'msg',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}
