/**
 * A pino logger whose JSON lines land in an array, for tests that assert on what the gateway
 * logged (access-log fields, error logs).
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export interface CapturedLogs {
  /** Every line logged so far, parsed. */
  readonly lines: Array<Record<string, any>>;
  readonly logger: Logger;
}

export function captureLogs(level: LevelWithSilent = 'info'): CapturedLogs {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, any>);
      cb();
    },
  });
  return { lines, logger: pino({ level, messageKey: 'msg' }, sink) };
}
