/**
 * The process logger: pino, JSON lines on stdout, written asynchronously so logging never
 * blocks the request path. Secrets are redacted wherever they could appear.
 *
 * Lines are batched: stdout under a container runtime is a pipe, and one write(2) per line costs
 * a request several times what the line's formatting does. The buffer is written once it holds
 * `bufferBytes`, every `flushIntervalMs`, on drain and on exit (pino flushes it synchronously when
 * the process ends, SIGTERM's drain included). While the reader does not keep up (a blocked pipe),
 * the buffer grows to `maxBufferBytes` and lines past that are dropped, newest first, and counted;
 * once the pipe takes writes again one `warn` line, written through the logger like any other,
 * says how many were lost.
 */
import cluster from 'node:cluster';
import { pino, destination, symbols as pinoSymbols, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { LOGGING_DEFAULTS } from '../config/schema.js';

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

/** The second the cached prefix of {@link isoTimeAt} belongs to (ms since the epoch, a multiple of 1000). */
let cachedSecond = Number.NaN;
/** `,"time":"2026-12-03T11:24:25.` for that second. */
let cachedPrefix = '';
/** Dates whose ISO form is `YYYY-MM-DDTHH:MM:SS.sssZ` (years 0000–9999). */
const LAST_FOUR_DIGIT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * pino's `time` field for the instant `ms`: the same text as `Date#toISOString` (what pino's
 * `isoTime` writes), with the date and time up to the second formatted once per second and only
 * the milliseconds added per line. `new Date().toISOString()` on every line was a quarter of the
 * access log's cost in a profile under S1.
 */
export function isoTimeAt(ms: number): string {
  const second = ms - (((ms % 1000) + 1000) % 1000);
  if (second !== cachedSecond) {
    if (!(ms >= 0 && ms <= LAST_FOUR_DIGIT_MS)) return `,"time":"${new Date(ms).toISOString()}"`;
    cachedSecond = second;
    cachedPrefix = `,"time":"${new Date(second).toISOString().slice(0, 20)}`;
  }
  const milli = ms - second;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z"`;
}

const isoTime = (): string => isoTimeAt(Date.now());

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Write synchronously, line by line (CLI commands and tests that read stdout right away). */
  sync?: boolean;
  /** Destination stream (tests); defaults to stdout. */
  destination?: DestinationStream;
  /** Bytes collected before one write to stdout; 0 writes each line at once. @default {@link LOGGING_DEFAULTS}.bufferBytes */
  bufferBytes?: number;
  /** The longest a line waits in the buffer, ms. @default {@link LOGGING_DEFAULTS}.flushIntervalMs */
  flushIntervalMs?: number;
  /** The most bytes held while stdout does not take writes; lines past that are dropped and counted. @default {@link LOGGING_DEFAULTS}.maxBufferBytes */
  maxBufferBytes?: number;
  /** Other processes write to the same stdout (a cluster's primary); workers know it by themselves. @default false */
  sharedStdout?: boolean;
}

/** Bytes a pipe writes atomically (Linux, POSIX minimum 512; Linux and macOS 4096 for pipes). */
const PIPE_BUF = 4096;

/** Told, once stdout takes writes again, how many lines were dropped while it did not. */
type DropReport = (droppedLines: number, maxBufferBytes: number) => void;

/** stdout as a pino destination: line by line, or batched (see the module comment). */
function stdoutDestination(opts: LoggerOptions, reportDropped: DropReport): DestinationStream {
  // A person at a terminal reads lines as they come; batching is for pipes and files.
  const bufferBytes = opts.sync || process.stdout.isTTY ? 0 : (opts.bufferBytes ?? LOGGING_DEFAULTS.bufferBytes);
  if (bufferBytes <= 0) return destination({ dest: 1, sync: opts.sync ?? false, minLength: 0 });
  const maxBufferBytes = Math.max(opts.maxBufferBytes ?? LOGGING_DEFAULTS.maxBufferBytes, bufferBytes * 2);
  // Workers and their primary share one stdout pipe: a write of at most PIPE_BUF (4096) bytes of whole
  // lines is atomic, so their lines never interleave. A single process is the pipe's only writer and writes more at once.
  const maxWrite = cluster.isWorker || opts.sharedStdout ? PIPE_BUF : Math.max(16_384, bufferBytes * 4);
  const dest = destination({
    dest: 1,
    sync: false,
    // Lines are held as buffers with their lengths counted as they come. As strings, sonic-boom
    // appends each line to the pending text and measures that text's bytes again on every write,
    // which flattens and scans up to `bufferBytes` per line: 7 µs of a line's 9.5 at 16 KiB.
    contentMode: 'buffer',
    // sonic-boom requires minLength < maxWrite.
    minLength: Math.min(bufferBytes, maxWrite - 1),
    maxWrite,
    maxLength: maxBufferBytes,
    periodicFlush: opts.flushIntervalMs ?? LOGGING_DEFAULTS.flushIntervalMs,
  });
  let dropped = 0;
  dest.on('drop', () => {
    dropped++;
  });
  dest.on('drain', () => {
    if (dropped === 0) return;
    const lost = dropped;
    dropped = 0;
    reportDropped(lost, maxBufferBytes);
  });
  // pino writes strings; the destination takes each as its bytes. Flushes (logger.flush, and the
  // synchronous one pino makes at exit through the destination itself) reach it unchanged.
  return {
    write: (line: string) => dest.write(Buffer.from(line) as unknown as string),
    flush: (cb?: (err?: Error) => void) => dest.flush(cb),
    flushSync: () => dest.flushSync(),
    end: () => dest.end(),
  } as unknown as DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = (process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? opts.level ?? 'info';
  // The drop warning is written by the logger itself, so it is formatted like every other line.
  const dest = opts.destination ?? stdoutDestination(opts, (droppedLines, maxBufferBytes) => logger.warn({ droppedLines, maxBufferBytes }, 'log lines dropped: stdout did not take writes'));
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: isoTime,
      messageKey: 'msg',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  ownFormat.add(logger);
  return logger;
}

/** Loggers made by {@link createLogger}, whose line format {@link infoLineWriter} reproduces. */
const ownFormat = new WeakSet<Logger>();

/** The value of one field of a line written by {@link infoLineWriter}. */
export type PlainField = string | number | boolean | undefined | readonly string[];

/**
 * A writer of `info` lines with message `msg` and the given fields, for a line written on every
 * request (the access log). For a logger made by {@link createLogger} it writes the line pino
 * would write, with the fields serialised by one `JSON.stringify` instead of pino's walk over
 * them (its per-value serialisation, serializer and formatter lookups cost most of a line);
 * the level check, time, bindings and destination are the logger's own. No field it is given
 * is one of {@link REDACT_PATHS}. Any other logger gets `logger.info(fields, msg)`.
 * test/engine/info-line.property.test.ts holds the two to the same bytes for well-formed text (a
 * lone surrogate comes out escaped, as JSON.stringify writes it, where pino writes it raw).
 */
export function infoLineWriter(logger: Logger, msg: string): (fields: Record<string, PlainField>) => void {
  if (!ownFormat.has(logger)) return (fields) => logger.info(fields, msg);
  const internals = logger as unknown as Record<symbol, unknown>;
  // The destination is fixed when pino makes the logger; the bindings are read per line (setBindings may change them).
  const stream = internals[pinoSymbols.streamSym] as DestinationStream;
  const tail = `,"msg":${JSON.stringify(msg)}}\n`;
  return (fields) => {
    if (!logger.isLevelEnabled('info')) return;
    const body = JSON.stringify(fields);
    stream.write(`{"level":"info"${isoTime()}${internals[pinoSymbols.chindingsSym] as string}${body.length > 2 ? `,${body.slice(1, -1)}` : ''}${tail}`);
  };
}

/** The logger's options from the config's `logging` section. */
export function loggerOptions(logging: { level: LevelWithSilent; bufferBytes?: number; flushIntervalMs?: number; maxBufferBytes?: number }): LoggerOptions {
  return { level: logging.level, bufferBytes: logging.bufferBytes, flushIntervalMs: logging.flushIntervalMs, maxBufferBytes: logging.maxBufferBytes };
}
