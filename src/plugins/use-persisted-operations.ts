/**
 * Trusted documents and automatic persisted queries (APQ) on /graphql.
 *
 * - A persisted-operations file (`graphql.persistedOperations.file`): a JSON map of id or
 *   sha256 hash → document, as client tooling emits it. Requests may name a document by
 *   `documentId` (or `id`) or by the APQ extension `{"persistedQuery":{"version":1,"sha256Hash":…}}`.
 * - APQ (on by default; `apq: false` turns it off): a hash without a query that nobody
 *   registered answers `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND) so the client
 *   resends hash + query; a query whose sha256 does not match its hash is refused.
 *   Registration is anonymous, so what it may store is bounded: a document is registered only
 *   once it has passed validation (and demand control), only up to `maxDocumentBytes` (a larger
 *   one runs but stays unregistered, so its hash keeps answering PERSISTED_QUERY_NOT_FOUND), and
 *   the in-memory store is an LRU bounded by `maxEntries` and `maxBytes`. With `redis` configured registrations also go to Redis (TTL 24 h) so every
 *   instance knows them.
 * - APQ off: nothing is registered, and a hash the file does not hold answers
 *   `PersistedQueryNotSupported` (code PERSISTED_QUERY_NOT_SUPPORTED), the Apollo APQ protocol's
 *   signal for "stop hashing": Apollo Client's and urql's links then send every query in full.
 *   A request carrying both the hash and its query still runs.
 * - `onlyPersisted: true`: only documents from the file run; anything else is
 *   PERSISTED_QUERY_ONLY (and APQ registration is off).
 */
import { sha256Hex } from '../hash.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { RedisConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { PersistedQueryNotFound, PersistedQueryNotSupported, PersistedQueryOnly, BadRequest, type ErrorDefinition } from '../errors.js';
import { createRedis, type RedisClient } from '../redis/client.js';
import type { GatewayPlugin } from './types.js';
import { reproducedByDirectPath } from '../graphql/yoga-http-port.js';

/** Options for {@link usePersistedOperations}. */
export interface PersistedOperationsOptions {
  /** JSON map of id/hash → document, resolved against `baseDir`. */
  file?: string;
  baseDir: string;
  /** Reject every document not in the file. @default false */
  onlyPersisted?: boolean;
  /** Automatic persisted queries: register documents sent with their hash. @default true */
  apq?: boolean;
  /** Share APQ registrations across instances. */
  redis?: RedisConfig;
  /** Entries kept by the in-memory APQ store. @default 1000 */
  maxEntries?: number;
  /** Bytes (UTF-8) of documents kept by the in-memory APQ store. @default 16 MiB */
  maxBytes?: number;
  /** Largest document (UTF-8 bytes) that APQ registers. @default 64 KiB */
  maxDocumentBytes?: number;
}

/** What registering a document needs to know once the document has validated. */
interface PendingRegistration {
  hash: string;
  query: string;
}


const APQ_TTL_SEC = 86_400;

function requestError(def: ErrorDefinition, ...args: Array<string | number>): GraphQLError {
  const e = def(...args);
  return new GraphQLError(e.message, { extensions: { code: e.code, http: { status: e.status } } });
}

function loadFile(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ path: 'graphql.persistedOperations.file', message: `cannot read ${file}: ${(err as Error).message}` }]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw new ConfigError([{ path: 'graphql.persistedOperations.file', message: `${file} must be a JSON object of id/hash → document string` }]);
  }
  return new Map(Object.entries(parsed as Record<string, string>));
}


export function usePersistedOperations(opts: PersistedOperationsOptions): GatewayPlugin {
  const trusted = opts.file ? loadFile(resolve(opts.baseDir, opts.file)) : new Map<string, string>();
  const only = opts.onlyPersisted ?? false;
  // With onlyPersisted nothing is registered either, but an unknown hash stays "not found": the file is the store.
  const apq = (opts.apq ?? true) && !only;
  const unknownHash = only || apq ? PersistedQueryNotFound : PersistedQueryNotSupported;
  const maxDocumentBytes = opts.maxDocumentBytes ?? 64 * 1024;
  const memory = new LRUCache<string, string>({
    max: opts.maxEntries ?? 1000,
    maxSize: opts.maxBytes ?? 16 * 1024 * 1024,
    sizeCalculation: (query) => Buffer.byteLength(query),
  });
  // Keyed by the operation's context (one per operation, also within a batch, where the operations
  // share one Request): a registration waits for its own operation's validation and dies with it.
  const pending = new WeakMap<object, PendingRegistration>();
  const redis: RedisClient | undefined = opts.redis && apq ? createRedis(opts.redis, { failFast: true }) : undefined;
  // Reconnects by itself; while it is down a lookup is a miss and the client resends the query.
  redis?.on('error', () => undefined);
  const prefix = `${opts.redis?.keyPrefix ?? 'gw:'}apq:`;
  /** Registrations held for Redis while it connects, at most (each up to maxDocumentBytes). */
  const MAX_HELD_WRITES = 64;

  async function lookup(hash: string): Promise<string | undefined> {
    const known = trusted.get(hash) ?? (apq ? memory.get(hash) : undefined);
    if (known !== undefined || !redis) return known;
    try {
      return (await redis.get(prefix + hash)) ?? undefined;
    } catch {
      // Redis down: the client resends the query, which is the APQ protocol's own fallback.
      return undefined;
    }
  }

  function remember(hash: string, query: string): void {
    memory.set(hash, query);
    if (!redis) return;
    if (redis.status === 'ready') {
      void redis.set(prefix + hash, query, 'EX', APQ_TTL_SEC).catch(() => undefined);
      return;
    }
    // Connecting (or down): up to MAX_HELD_WRITES registrations wait for it, on one listener; past
    // that they stay in this instance's memory store only (another instance answers
    // PersistedQueryNotFound and the client resends), so an outage cannot grow memory.
    if (held.size < MAX_HELD_WRITES) held.set(hash, query);
    if (!waiting) {
      waiting = true;
      redis.once('ready', flushHeld);
    }
  }

  const held = new Map<string, string>();
  let waiting = false;
  function flushHeld(): void {
    waiting = false;
    for (const [hash, query] of held) void redis!.set(prefix + hash, query, 'EX', APQ_TTL_SEC).catch(() => undefined);
    held.clear();
  }

  const yoga: YogaPlugin = {
    async onParams({ params, setParams, context }) {
      const p = params as typeof params & { documentId?: string; id?: string };
      const docId = p.documentId ?? p.id;
      if (typeof docId === 'string') {
        const doc = trusted.get(docId);
        if (doc === undefined) throw requestError(PersistedQueryNotFound);
        setParams({ ...params, query: doc });
        return;
      }
      const ext = (params.extensions as { persistedQuery?: { version?: number; sha256Hash?: unknown } } | undefined)?.persistedQuery;
      if (ext) {
        if (ext.version !== 1 || typeof ext.sha256Hash !== 'string') throw requestError(BadRequest, 'unsupported persistedQuery extension');
        const hash = ext.sha256Hash.toLowerCase();
        if (typeof params.query === 'string') {
          if (sha256Hex(params.query) !== hash) throw requestError(BadRequest, 'provided sha256Hash does not match the query');
          if (only && !trusted.has(hash)) throw requestError(PersistedQueryOnly);
          if (apq && !trusted.has(hash) && Buffer.byteLength(params.query) <= maxDocumentBytes) pending.set(context, { hash, query: params.query });
          return;
        }
        const doc = await lookup(hash);
        if (doc === undefined || (only && !trusted.has(hash))) throw requestError(unknownHash);
        setParams({ ...params, query: doc });
        return;
      }
      if (only) {
        const q = params.query;
        if (typeof q !== 'string' || !trusted.has(sha256Hex(q))) throw requestError(PersistedQueryOnly);
      }
    },
    onValidate({ context }) {
      const reg = pending.get(context);
      if (!reg) return;
      pending.delete(context);
      return ({ valid }) => {
        if (valid) remember(reg.hash, reg.query);
      };
    },
  };

  return {
    name: 'persisted-operations',
    // The direct path leaves every request naming a document (documentId, extensions) to yoga; with
    // onlyPersisted, plain queries must pass onParams too, so that gateway keeps yoga's full path.
    yogaPlugins: [only ? yoga : reproducedByDirectPath(yoga, 'the direct path leaves documentId and APQ requests to yoga')],
    close() {
      redis?.disconnect();
    },
  };
}
