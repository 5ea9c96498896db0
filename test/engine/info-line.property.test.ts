/**
 * The access log's line writer (src/telemetry/logger.ts, `infoLineWriter`) writes, for a logger
 * made by createLogger, the bytes pino writes for `logger.info(fields, msg)`: any field values of
 * the kinds the access log has (strings with quotes, backslashes, control and non-ASCII
 * characters; integers and fractions; booleans; absent values; lists of strings), in any order.
 * The time is formatted by the same function on both sides and compared apart (it may tick
 * between the two lines). A level above info writes nothing; another logger gets `info` itself.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, infoLineWriter, type PlainField } from '../../src/telemetry/logger.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

const TIME = /,"time":"[^"]*"/;
const withoutTime = (line: string) => line.replace(TIME, '');

const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => (s as string & { isWellFormed(): boolean }).isWellFormed());
const value: fc.Arbitrary<PlainField> = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(undefined),
  fc.array(text, { maxLength: 4 }),
);
const fieldName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,11}$/).filter((k) => !['level', 'time', 'pid', 'msg', 'authorization', 'cookie', 'token'].includes(k));
const fields = fc.dictionary(fieldName, value, { maxKeys: 16 });

describe('infoLineWriter', () => {
  it('writes what pino writes for logger.info(fields, msg)', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream as never, sync: true });
    fc.assert(
      fc.property(fields, text, (f, msg) => {
        lines.length = 0;
        infoLineWriter(logger, msg)(f);
        logger.info(f, msg);
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(TIME);
        expect(withoutTime(lines[0]!)).toBe(withoutTime(lines[1]!));
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg });
      }),
      { numRuns: 400 },
    );
  });

  it('writes nothing below the logger’s level', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'warn', destination: stream as never, sync: true });
    infoLineWriter(logger, 'request')({ type: 'access' });
    expect(lines).toEqual([]);
    logger.level = 'info';
    infoLineWriter(logger, 'request')({ type: 'access' });
    expect(lines).toHaveLength(1);
  });

  it('hands another logger the fields through its own info', () => {
    const { lines, stream } = capture();
    const other = pino({ level: 'info', base: { host: 'x' } }, stream);
    infoLineWriter(other, 'request')({ type: 'access', status: 200 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, host: 'x', type: 'access', status: 200, msg: 'request' });
  });
});
