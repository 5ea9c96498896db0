/**
 * The gateway process: one node:http server, one plugin chain in front of both /graphql and
 * the passthrough routes, one upstream layer behind them.
 *
 *   request → router (what is addressed) → plugin chain (src/plugins/index.ts)
 *           → handler: GraphQL (yoga) | passthrough proxy | internal endpoint | 404/405
 *           → upstream layer (interceptors → undici pool / grpc client)
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createTlsServer, goAwayHttp2 } from './http/tls-listener.js';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Plugin as YogaPlugin, YogaServerInstance } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { GatewayConfig } from './config/schema.js';
import { NO_BINDINGS, type Bindings } from './graphql/bindings/runtime.js';
import { RequestContext } from './context.js';
import { BadRequest, GatewayError, InternalError, MethodNotAllowed, NotFound, isGatewayError } from './errors.js';
import { identitySources } from './auth/identity-sources.js';
import { createGatewayYoga, gatewayMaskError, type ServerContext } from './graphql/create-yoga.js';
import { createGraphqlFastPath, type GraphqlFastPath } from './graphql/fast-path.js';
import { CONTENT_TYPE, JSON_MEDIA, regularMediaType } from './graphql/yoga-http-port.js';
import { graphiqlAssetEndpoints } from './graphql/graphiql-page.js';
import { DEFAULT_COMPRESSION_THRESHOLD } from './plugins/use-compression.js';
import type { GraphQLContext } from './graphql/define-resolvers.js';
import { buildPluginChain, type PluginChain } from './plugins/index.js';
import type { GatewayPlugin } from './plugins/types.js';
import type { PluginCarry } from './plugins/carry.js';
import { RouteTable } from './proxy/route-table.js';
import { createPassthrough, type Passthrough } from './proxy/proxy-handler.js';
import { normalizePath } from './http/normalize-path.js';
import { readWholeBody } from './proxy/request-body.js';
import { createLogger, loggerOptions, type Logger } from './telemetry/logger.js';
import { GatewayEvents } from './telemetry/events.js';
import { Upstreams } from './upstream/create-upstreams.js';
import { closeConnectionAfter } from './http/close-connection.js';
import { Connections, stopAccepting } from './http/connections.js';

export interface GatewayOptions {
  config: GatewayConfig;
  /** The composed schema (see composeSchema). */
  schema: GraphQLSchema;
  /** The schema's field bindings, for resolvers that load a bound field (see composeSchema). @default none */
  bindings?: Bindings;
  /** Folder that relative paths (protos, persisted operations) resolve against. */
  projectRoot: string;
  /** Folder of the config file, for paths inside it. */
  configDir?: string;
  logger?: Logger;
  /** Hot reload: hands unchanged plugins (and their state, e.g. rate-limit windows) from one generation to the next. */
  carry?: PluginCarry;
  /** Extra yoga/envelop plugins after the chain's (embedders); one with an HTTP-layer hook turns the direct GraphQL path off. */
  yogaPlugins?: YogaPlugin[];
}

export interface Gateway {
  readonly server: Server;
  readonly config: GatewayConfig;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  /** Upstream-layer events (breaker state, retries, call outcomes). */
  readonly events: GatewayEvents;
  /** The plugin chain's plugins, in order (e.g. to find the metrics registry of this instance). */
  readonly plugins: readonly GatewayPlugin[];
  /** Starts listening; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** The base URL once listening, e.g. `http://127.0.0.1:4000`. */
  readonly url: string;
  /**
   * Stops accepting, lets in-flight requests finish (up to `server.drainMs`) and idle keep-alive
   * connections send what is on its way (`server.drainGraceMs`), then releases everything. Behind
   * a reloadable listener, `connections` are that listener's (it stops accepting itself).
   */
  close(opts?: { connections?: Connections }): Promise<void>;
  /** True between the start of close() and its end. */
  readonly draining: boolean;
  /**
   * The request listener, bound to this instance. Hot reload (src/reload.ts) points one listening
   * server at a new instance's listener, so the socket is kept and nothing re-binds.
   */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Leaves service after a reload: lets this instance's in-flight requests finish (up to
   * `server.drainMs`), then releases its plugins and upstreams. The listening socket is left alone.
   */
  retire(): Promise<void>;
}

const CTX = Symbol('gateway.ctx');
const GW = Symbol('gateway.instance');
type TrackedResponse = ServerResponse & { [CTX]?: RequestContext; [GW]?: GatewayServer };

/**
 * The node:http server (node:https with `server.tls`, see src/http/tls-files.ts) with the
 * gateway's limits and its answer to malformed requests. `baseDir` is where `server.tls` paths resolve.
 */
export function createHttpServer(config: GatewayConfig['server'], listener: (req: IncomingMessage, res: ServerResponse) => void, baseDir = process.cwd()): Server {
  const options: ServerOptions = {
    maxHeaderSize: config.maxHeaderBytes,
    keepAliveTimeout: 65_000,
    // Bounds the whole request, body included, against slow senders (node answers 408 itself).
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: config.requestTimeoutMs > 0 ? Math.min(30_000, config.requestTimeoutMs) : 30_000,
    // node checks both timeouts on this interval; a coarse one would let a request live up to one interval longer.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor((config.requestTimeoutMs || 120_000) / 4))),
  };
  const server = config.tls ? createTlsServer(config.tls, baseDir, options, listener) : createServer(options, listener);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed requests (bad header characters, oversized headers) never reach the chain.
    if (!socket.writable) return socket.destroy();
    // An answer already under way cannot be replaced by an error status.
    if ((socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

class GatewayServer implements Gateway {
  readonly server: Server;
  readonly config: GatewayConfig;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly #yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  readonly #fast: GraphqlFastPath | undefined;
  readonly #chain: PluginChain;
  readonly #routes: RouteTable;
  readonly #passthrough: Passthrough;
  /** `/healthz`, `/readyz` and the plugins' endpoints (`/metrics`), by normalised path. */
  readonly #endpoints: ReadonlyMap<string, (ctx: RequestContext) => Promise<void>>;
  readonly #graphqlPath: string;
  readonly #connections: Connections;
  #inFlight = 0;
  #draining = false;
  #closed: Promise<void> | undefined;
  #url = '';

  constructor(opts: GatewayOptions) {
    this.config = opts.config;
    this.logger = opts.logger ?? createLogger(loggerOptions(opts.config.logging));
    this.#graphqlPath = opts.config.graphql.path;
    this.events = new GatewayEvents();
    this.#chain = buildPluginChain({ config: opts.config, logger: this.logger, projectRoot: opts.projectRoot, configDir: opts.configDir ?? opts.projectRoot, schema: opts.schema, events: this.events, carry: opts.carry });
    this.upstreams = new Upstreams(opts.config.upstreams, {
      projectRoot: opts.projectRoot,
      configDir: opts.configDir,
      log: this.logger,
      interceptorsFor: (name, info) => this.#chain.interceptorsFor(name, info.protocol),
    });
    this.#routes = new RouteTable(opts.config.routes);
    const server = opts.config.server;
    this.#passthrough = createPassthrough({ trustProxy: server.trustProxy, maxBodyBytes: server.maxBodyBytes, bodyTimeoutMs: server.bodyTimeoutMs, requestBufferBytes: server.requestBufferBytes });
    this.#endpoints = new Map([
      ['/healthz', (ctx: RequestContext) => this.#health(ctx, true)],
      ['/readyz', (ctx: RequestContext) => this.#health(ctx, !this.#draining)],
      ...this.#chain.endpoints,
      ...(opts.config.graphql.graphiql ? Object.entries(graphiqlAssetEndpoints(this.#graphqlPath)) : []),
    ]);
    this.#yoga = createGatewayYoga({
      schema: opts.schema,
      config: opts.config.graphql,
      upstreams: this.upstreams,
      bindings: opts.bindings ?? NO_BINDINGS,
      logger: this.logger,
      plugins: [...this.#chain.yogaPlugins, ...(opts.yogaPlugins ?? [])],
      transformSchema: (schema) => this.#chain.transformSchema(schema),
      identitySources: identitySources(opts.config.auth, opts.config.server.tls?.clientCa !== undefined && opts.config.server.tls.requestCert !== false, opts.config.server.tls?.clientRoles),
    });
    // Off (yoga for every request) when a yoga plugin has a hook it skips, e.g. onlyPersisted's onParams.
    const gql = opts.config.graphql;
    this.#fast = createGraphqlFastPath(this.#yoga, {
      enabled: gql.fastPath,
      logger: this.logger,
      maskError: gatewayMaskError(),
      compressionThreshold: opts.config.server.compression ? DEFAULT_COMPRESSION_THRESHOLD : undefined,
      reuseValidation: !this.#chain.plugins.some((p) => p.observesEveryParse),
      cacheBytes: Math.floor(gql.documentCacheBytes / 2),
    });
    this.handle = (req, res) => {
      void this.#handle(req, res);
    };
    this.server = createHttpServer(opts.config.server, this.handle, opts.configDir ?? opts.projectRoot);
    this.#connections = new Connections(this.server, opts.config.server.tls !== undefined);
  }

  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;

  get url(): string {
    return this.#url;
  }

  get plugins(): readonly GatewayPlugin[] {
    return this.#chain.plugins;
  }

  get draining(): boolean {
    return this.#draining;
  }

  async #handle(req: IncomingMessage, res: TrackedResponse): Promise<void> {
    const ctx = new RequestContext(req, res, performance.now());
    res[CTX] = ctx;
    res[GW] = this;
    this.#inFlight++;
    res.once('close', onResponseClose);
    if (this.#draining) closeConnectionAfter(res);
    try {
      this.#route(ctx);
      await this.#chain.run(ctx);
      if (res.writableEnded || res.headersSent) return;
      await this.#dispatch(ctx);
    } catch (err) {
      this.sendError(ctx, err);
    }
  }

  /** Decides what the request addresses; the chain and the handler act on it. */
  #route(ctx: RequestContext): void {
    // Everything is matched on the normalised path; a refused one stays unrouted and #dispatch answers 400.
    const norm = (ctx.normalizedPath = normalizePath(ctx.path));
    if (norm.reject !== undefined) return;
    const path = norm.path;
    if (path === this.#graphqlPath) {
      ctx.target = { kind: 'graphql' };
      ctx.routeLabel = 'graphql';
      // yoga checks the URL against its endpoint: give it the spelling it was matched by.
      if (path !== ctx.path) ctx.req.url = ctx.query ? `${path}?${ctx.query}` : path;
      return;
    }
    const endpoint = this.#endpoints.get(path);
    if (endpoint) {
      ctx.target = { kind: 'internal', path, serve: endpoint };
      ctx.routeLabel = 'internal';
      return;
    }
    const m = this.#passthrough.match(ctx, this.#routes);
    if (m.kind === 'route') {
      ctx.target = m;
      ctx.routeLabel = m.route.name;
      ctx.upstream = m.route.upstream;
    } else {
      ctx.target = m;
    }
  }

  async #dispatch(ctx: RequestContext): Promise<void> {
    const t = ctx.target;
    switch (t.kind) {
      case 'graphql':
        return this.#graphql(ctx);
      case 'internal':
        return t.serve(ctx);
      case 'route':
        return this.#passthrough.handle(ctx, t.route, this.upstreams);
      case 'method-not-allowed':
        throw MethodNotAllowed(ctx.method).withHeaders({ Allow: t.allow });
      default:
        if (ctx.normalizedPath?.reject !== undefined) throw BadRequest(ctx.normalizedPath.reject);
        throw NotFound(ctx.method, ctx.path);
    }
  }

  async #graphql(ctx: RequestContext): Promise<void> {
    const req = ctx.req as IncomingMessage & { body?: Buffer };
    if (ctx.method === 'POST') {
      try {
        ctx.body = await readWholeBody(req, { max: ctx.maxBodyBytes ?? this.config.server.maxBodyBytes, idleMs: this.config.server.bodyTimeoutMs });
      } catch (err) {
        // The rest of the body is unread: the connection cannot carry another request.
        closeConnectionAfter(ctx.res);
        throw err;
      }
      if (this.#fast) {
        const done = this.#fast.handle(ctx);
        if (done === true || (done !== false && (await done))) {
          ctx.graphqlPath ??= 'direct';
          return;
        }
      }
    }
    ctx.graphqlPath = 'yoga';
    // yoga's node adapter takes an already-read body from `req.body`. It first tests
    // `Object.keys(body).length`, which on a Buffer lists every byte (about 1 s of event loop
    // for a 1 MB body); a Blob with one own key is taken as the body at the cost of one copy,
    // paid only here: the direct path reads `ctx.body`.
    if (ctx.body) req.body = Object.assign(new Blob([ctx.body as Uint8Array<ArrayBuffer>]), { gatewayBody: true }) as unknown as Buffer;
    await this.#yoga.handle(req, ctx.res, { gw: ctx });
  }

  async #health(ctx: RequestContext, ok: boolean): Promise<void> {
    const body = JSON.stringify({ status: ok ? 'ok' : 'draining' });
    ctx.res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    ctx.res.end(body);
  }

  /** Answers with the CONTRACT's JSON error shape (or a GraphQL-shaped error on the GraphQL path). */
  sendError(ctx: RequestContext, err: unknown): void {
    const res = ctx.res;
    const gwErr: GatewayError = isGatewayError(err) ? err : InternalError();
    if (!isGatewayError(err)) this.logger.error({ err, requestId: ctx.id }, 'unhandled error');
    ctx.errorCode = gwErr.code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let body: string;
    let type: string;
    if (ctx.target.kind === 'graphql') {
      // GraphQL-over-HTTP: the media type the client asked for, negotiated as yoga does for results
      // (application/json when it accepts neither, since an error must still be said).
      type = CONTENT_TYPE[regularMediaType(ctx.req.headers.accept) ?? JSON_MEDIA];
      body = JSON.stringify({ errors: [{ message: gwErr.message, extensions: { code: gwErr.code } }] });
    } else {
      type = 'application/json; charset=utf-8';
      body = JSON.stringify({ error: gwErr.message, code: gwErr.code, requestId: ctx.id });
    }
    const headers: Record<string, string | number> = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
    if (gwErr.headers) Object.assign(headers, gwErr.headers);
    res.writeHead(gwErr.status, headers);
    res.end(body);
  }

  onResponseDone(ctx: RequestContext): void {
    this.#inFlight--;
    this.#chain.done(ctx);
  }

  listen(port = this.config.server.port, host = this.config.server.host): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
        this.#url = `${this.config.server.tls ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`;
        resolve(addr.port);
      });
    });
  }

  close(opts?: { connections?: Connections }): Promise<void> {
    this.#closed ??= this.#shutdown(opts?.connections);
    return this.#closed;
  }

  retire(): Promise<void> {
    this.#closed ??= this.#release();
    return this.#closed;
  }

  /**
   * Drain: stop accepting connections; every answer from now on carries `Connection: close`
   * (in-flight ones too, when their head is not yet written), so a client that respects it
   * never sends on a socket we are about to close. Idle keep-alive sockets stay open while
   * requests are in flight and for `drainGraceMs` after, for requests already on their way
   * (http.Server#close would close them at once, and such a request would meet a reset); then
   * whatever is left is closed. All of it within `drainMs`.
   */
  async #shutdown(external: Connections | undefined): Promise<void> {
    this.#draining = true;
    // Served behind a reloadable listener (src/reload.ts), that listener owns the connections:
    // this instance only waits on them before it lets go of its upstreams.
    const connections = external ?? this.#connections;
    const closed = external ? undefined : stopAccepting(this.server);
    if (!external) {
      connections.closeInFlight();
      goAwayHttp2(this.server);
    }
    await this.#waitQuiet(connections);
    if (!external) {
      connections.destroyAll();
      await closed;
    }
    await this.#releaseResources();
  }

  /** Waits until no request has been in flight for `drainGraceMs` (or no connection is left), within `drainMs`. */
  async #waitQuiet(connections: Connections): Promise<void> {
    const { drainMs, drainGraceMs } = this.config.server;
    const deadline = Date.now() + drainMs;
    let busyAt = Date.now();
    for (;;) {
      const now = Date.now();
      if (this.#inFlight > 0) busyAt = now;
      else if (!connections.open || now - busyAt >= drainGraceMs) return;
      if (now >= deadline) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #release(): Promise<void> {
    this.#draining = true;
    await this.#waitInFlight();
    await this.#releaseResources();
  }

  async #waitInFlight(): Promise<void> {
    const deadline = Date.now() + this.config.server.drainMs;
    while (this.#inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #releaseResources(): Promise<void> {
    await this.#chain.close();
    await this.upstreams.close();
    this.logger.flush?.();
  }
}

/** Shared close handler: the response carries its gateway, so no closure per request (and after a reload the instance that took the request is the one that counts it done). */
function onResponseClose(this: TrackedResponse): void {
  const ctx = this[CTX];
  const gw = this[GW];
  if (!ctx || !gw) return;
  this[CTX] = undefined;
  this[GW] = undefined;
  gw.onResponseDone(ctx);
}

export function createGateway(opts: GatewayOptions): Gateway {
  return new GatewayServer(opts);
}
