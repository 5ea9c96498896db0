/**
 * A gateway that can be reloaded while it serves: one listening socket in front, one gateway
 * instance ("generation") behind it at a time.
 *
 * Reload (SIGHUP, `--watch`, or {@link ServedGateway.reload}) builds the next generation from the
 * config file and `schema/` first — load, validate, compose, construct — and only then points
 * the listening server's request listener at it. Nothing re-binds, so no connection is refused
 * during the switch; requests already running finish on the generation that took them, which
 * then retires (waits up to `server.drainMs`, releases its pools). A config or schema that
 * fails any step is refused with the reason logged, and the running generation keeps serving.
 * Rate-limit windows carry over when their inputs (rateLimit, route windows, redis, schema)
 * are unchanged: the new generation takes the serving one's limiter (src/plugins/carry.ts).
 *
 * What a reload cannot change: the bound port and host, `server.maxHeaderBytes`, and whether
 * `server.tls` (or its `http2`) is on (they belong to the socket); a change to them is logged and
 * waits for a restart. The TLS certificate, key, client CA and minimum version do change:
 * new handshakes use them, open connections keep theirs (src/http/tls-listener.ts). Resolver modules
 * are ES modules and stay cached: their code changes need a restart too (SDL changes do not).
 */
import { watch, type FSWatcher } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfigFile } from './config/load.js';
import { checkDevSecret } from './auth/dev-secret.js';
import { checkSessionStoreWorkers } from './auth/oidc/workers-check.js';
import type { GatewayConfig } from './config/schema.js';
import { assembleGateway } from './assemble.js';
import type { DemoTargets } from './demo/start-demos.js';
import { SCHEMA_DIR } from './paths.js';
import { createHttpServer, type Gateway } from './server.js';
import { goAwayHttp2, swapListenerCertificate } from './http/tls-listener.js';
import { Connections, stopAccepting } from './http/connections.js';
import { PluginCarry } from './plugins/carry.js';
import { createLogger, loggerOptions, type Logger } from './telemetry/logger.js';


/** Options for {@link serveGateway}. */
export interface ServeOptions {
  /** The config file; read again on every reload. */
  configFile: string;
  /** Overrides `server.port` (0 = ephemeral). Fixed for the life of the process. */
  port?: number;
  /** Overrides `server.host`. Fixed for the life of the process. */
  host?: string;
  /** Points upstreams at these demo servers, in every generation. */
  demoTargets?: DemoTargets;
  /**
   * How many processes serve this port (`gateway start --workers N`, set by the cluster worker).
   * Above 1, every generation refuses a memory session store (`auth.oidc.session.store`).
   */
  workers?: number;
  /** NODE_ENV is production: a development JWT secret (src/auth/dev-secret.ts) is refused, unless demoTargets are set. @default false */
  production?: boolean;
  schemaDir?: string;
  resolversDir?: string;
  logger?: Logger;
  /** Reload when the config file or a schema file changes (development). @default false */
  watch?: boolean;
  /** Debounce for `watch`, so an editor's burst of writes makes one reload. @default 200 */
  watchDebounceMs?: number;
  /**
   * Answers a request before any generation sees it, or returns false to pass it on. Cluster
   * workers use it to serve `/metrics` aggregated across the process group.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export type ReloadResult = { ok: true; generation: number } | { ok: false; generation: number; error: string };

export interface ServedGateway {
  /** The generation serving new requests. */
  readonly gateway: Gateway;
  /** 1 for the first, +1 per successful reload. */
  readonly generation: number;
  /** The listening server (kept across reloads). */
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly logger: Logger;
  /** Builds and switches to a new generation; refuses (and keeps the old one) when it is invalid. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, drains in-flight requests of every generation (up to `server.drainMs`), releases everything. */
  close(): Promise<void>;
}

interface Built {
  gateway: Gateway;
  config: GatewayConfig;
  /** Folder of the config file (where `server.tls` paths resolve). */
  baseDir: string;
}

class Served implements ServedGateway {
  readonly server: Server;
  readonly logger: Logger;
  readonly #opts: ServeOptions;
  #current: Built;
  #generation = 1;
  #port = 0;
  #url = '';
  /** Generations still finishing their requests after a reload. */
  readonly #retiring = new Set<Promise<void>>();
  /** Reloads run one at a time: a second SIGHUP during a reload waits for the first. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed: Promise<void> | undefined;
  #watchers: FSWatcher[] = [];
  #watchTimer: NodeJS.Timeout | undefined;
  readonly #listener: (req: IncomingMessage, res: ServerResponse) => void;
  readonly #carry: PluginCarry;
  readonly #connections: Connections;

  constructor(opts: ServeOptions, first: Built, logger: Logger, carry: PluginCarry) {
    this.#opts = opts;
    this.#carry = carry;
    this.#current = first;
    this.logger = logger;
    const intercept = opts.intercept;
    // One listener for the life of the process; it forwards to whichever generation is current.
    this.#listener = intercept
      ? (req, res) => {
          if (!intercept(req, res)) this.#current.gateway.handle(req, res);
        }
      : (req, res) => this.#current.gateway.handle(req, res);
    this.server = createHttpServer(first.config.server, this.#listener, first.baseDir);
    this.#connections = new Connections(this.server, first.config.server.tls !== undefined);
  }

  get gateway(): Gateway {
    return this.#current.gateway;
  }

  get generation(): number {
    return this.#generation;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return this.#url;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.#port = (this.server.address() as AddressInfo).port;
        const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
        this.#url = `${this.#current.config.server.tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${this.#port}`;
        resolve(this.#port);
      });
    });
  }

  reload(): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#reloadNow());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reloadNow(): Promise<ReloadResult> {
    if (this.#closed) return { ok: false, generation: this.#generation, error: 'the gateway is shutting down' };
    let next: Built;
    try {
      next = await buildGeneration(this.#opts, this.logger, this.#carry);
    } catch (err) {
      this.#carry.abort();
      const error = (err as Error).message ?? String(err);
      this.logger.error({ generation: this.#generation, reason: error }, 'reload refused: the running configuration keeps serving');
      return { ok: false, generation: this.#generation, error };
    }
    if (this.#closed) {
      this.#carry.abort();
      await next.gateway.retire();
      return { ok: false, generation: this.#generation, error: 'the gateway is shutting down' };
    }
    this.#warnFixedKeys(this.#current.config, next.config);
    // The listener's certificate is the one part of the socket a reload does change: new handshakes get it, open connections keep theirs.
    const tls = next.config.server.tls;
    if (tls && this.#current.config.server.tls) {
      try {
        swapListenerCertificate(this.server, tls, next.baseDir);
      } catch (err) {
        this.#carry.abort();
        await next.gateway.retire();
        const error = (err as Error).message ?? String(err);
        this.logger.error({ generation: this.#generation, reason: error }, 'reload refused: the running configuration keeps serving');
        return { ok: false, generation: this.#generation, error };
      }
    }
    const previous = this.#current;
    // The switch itself is synchronous: a request lands on the old or on the new generation, never on neither.
    this.#current = next;
    this.#carry.commit();
    this.#generation++;
    if (this.logger.level !== next.config.logging.level && !process.env.LOG_LEVEL) this.logger.level = next.config.logging.level;
    const retired = previous.gateway.retire().catch((err: unknown) => this.logger.error({ err }, 'retiring the previous generation failed'));
    this.#retiring.add(retired);
    void retired.finally(() => this.#retiring.delete(retired));
    this.logger.info({ generation: this.#generation }, 'reloaded');
    return { ok: true, generation: this.#generation };
  }

  #warnFixedKeys(before: GatewayConfig, after: GatewayConfig): void {
    const fixed: string[] = [];
    if (this.#opts.port === undefined && before.server.port !== after.server.port) fixed.push('server.port');
    if (this.#opts.host === undefined && before.server.host !== after.server.host) fixed.push('server.host');
    if (before.server.maxHeaderBytes !== after.server.maxHeaderBytes) fixed.push('server.maxHeaderBytes');
    // Turning TLS on or off, or HTTP/2, changes what kind of server listens.
    if (!before.server.tls !== !after.server.tls) fixed.push('server.tls');
    else if (before.server.tls && before.server.tls.http2 !== after.server.tls?.http2) fixed.push('server.tls.http2');
    if (fixed.length) this.logger.warn({ keys: fixed }, 'reload: these keys belong to the listening socket and take effect on the next restart');
  }

  startWatching(): void {
    const debounce = this.#opts.watchDebounceMs ?? 200;
    const trigger = () => {
      clearTimeout(this.#watchTimer);
      this.#watchTimer = setTimeout(() => void this.reload(), debounce);
    };
    for (const target of [this.#opts.configFile, this.#opts.schemaDir ?? SCHEMA_DIR]) {
      try {
        this.#watchers.push(watch(target, trigger));
      } catch (err) {
        this.logger.warn({ path: target, err: (err as Error).message }, 'watch: cannot watch this path');
      }
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    for (const w of this.#watchers) w.close();
    clearTimeout(this.#watchTimer);
    await this.#queue;
    // The drain of docs/resilience.md#drain: idle keep-alive sockets stay open for requests on their
    // way, in-flight answers and every later one carry `Connection: close` (HTTP/2: GOAWAY).
    const stopped = stopAccepting(this.server);
    this.#connections.closeInFlight();
    goAwayHttp2(this.server);
    // The current generation turns /readyz to 503 and waits out the drain on this listener's connections.
    await Promise.all([this.#current.gateway.close({ connections: this.#connections }), ...this.#retiring]);
    this.#connections.destroyAll();
    await stopped;
  }
}

/** Loads, validates and composes one generation; throws with the reason when any step fails. */
async function buildGeneration(opts: ServeOptions, logger: Logger, carry: PluginCarry): Promise<Built> {
  const loaded = loadConfigFile(opts.configFile);
  // Every generation: a reload must not bring a development secret into production either.
  const devSecret = checkDevSecret(loaded.config.auth, { production: opts.production ?? false, demo: opts.demoTargets !== undefined });
  if (devSecret.kind === 'refuse') throw new ConfigError([{ path: 'auth.jwt.secret', message: devSecret.reason }], opts.configFile);
  if (devSecret.kind === 'warn') logger.warn(devSecret.message);
  // Every generation: a reload must not switch a group of workers to a per-process session store either.
  const sessionStore = checkSessionStoreWorkers(loaded.config.auth, opts.workers);
  if (sessionStore) throw new ConfigError([sessionStore], opts.configFile);
  const { gateway, config } = await assembleGateway({
    config: loaded.config,
    configDir: loaded.baseDir,
    schemaDir: opts.schemaDir,
    resolversDir: opts.resolversDir,
    demoTargets: opts.demoTargets,
    logger,
    carry,
  });
  return { gateway, config, baseDir: loaded.baseDir };
}

/**
 * Starts a reloadable gateway from a config file and listens. Throws (ConfigError,
 * CompositionError) when the first generation cannot be built, like `startGateway`.
 */
export async function serveGateway(opts: ServeOptions): Promise<ServedGateway> {
  const firstConfig = loadConfigFile(opts.configFile).config;
  const logger = opts.logger ?? createLogger(loggerOptions(firstConfig.logging));
  const carry = new PluginCarry();
  const first = await buildGeneration(opts, logger, carry);
  carry.commit();
  const served = new Served(opts, first, logger, carry);
  try {
    await served.listen(opts.port ?? first.config.server.port, opts.host ?? first.config.server.host);
  } catch (err) {
    await first.gateway.retire();
    throw err;
  }
  if (opts.watch) served.startWatching();
  return served;
}
