/**
 * Browser sessions: pending logins (server-side, bounded, short-lived, single use), session
 * records (in a {@link SessionStore}: objects in memory, sealed in Redis), their idle and
 * absolute lifetimes, and the token refresh, coalesced to one provider call per session: within
 * a process by one shared promise, across instances by the store's refresh lock (the holder
 * refreshes, the others re-read).
 */
import { randomBytes } from 'node:crypto';
import type { OidcConfig } from '../../config/oidc-schema.js';
import { IdentityProviderUnavailable, SessionExpired } from '../../errors.js';
import { isForwardableSubject } from '../../config/identity-values.js';
import { rolesFrom } from '../jwt-verifier.js';
import type { SessionRecord, SessionStore } from './session-store.js';
import { ProviderRefused, type OidcProvider, type PendingLogin, type TokenSet } from './provider.js';

export type { SessionRecord } from './session-store.js';

/** A live session as a request sees it. */
export interface LiveSession {
  id: string;
  record: SessionRecord;
}

/** A session is re-saved (its idle clock reset) at most this often. */
const TOUCH_INTERVAL_MS = 60_000;
/** Pause between re-reads while another instance holds the refresh lock. */
const LOCK_POLL_MS = 25;

export class SessionManager {
  readonly #cfg: OidcConfig;
  readonly #store: SessionStore;
  readonly #provider: OidcProvider;
  /** One refresh in flight per session; entries leave when it settles, so the map holds at most the sessions refreshing now. */
  readonly #refreshing = new Map<string, Promise<SessionRecord>>();

  constructor(cfg: OidcConfig, store: SessionStore, provider: OidcProvider) {
    this.#cfg = cfg;
    this.#store = store;
    this.#provider = provider;
  }

  get store(): SessionStore {
    return this.#store;
  }

  /** Keeps a pending login under its state until the callback takes it. */
  addPending(p: PendingLogin): Promise<void> {
    return this.#store.putPending(p, this.#cfg.loginTtlSec * 1000);
  }

  /** Takes (and forgets) the pending login of a state: a state is good for one callback only. */
  takePending(state: string): Promise<PendingLogin | undefined> {
    return this.#store.takePending(state);
  }

  /** Starts a session from a code exchange; the id is always new (no fixation). */
  async create(tokens: TokenSet): Promise<LiveSession> {
    const claims = tokens.claims ?? {};
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    // The subject travels upstream as a header value (X-User-Id): one that cannot is refused, as for a JWT.
    if (!sub || !isForwardableSubject(sub)) throw new ProviderRefused('invalid_id_token', 'the ID token has no sub that can be forwarded (1-256 printable ASCII characters)');
    const now = Date.now();
    const record: SessionRecord = {
      sub,
      roles: rolesFrom(claims, this.#cfg.rolesClaim),
      claims: pick(claims, this.#cfg.exposedClaims),
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      idToken: tokens.idToken,
      accessExpiresAt: tokens.accessExpiresAt,
      createdAt: now,
      lastSeenAt: now,
    };
    const id = randomBytes(32).toString('base64url');
    await this.#save(id, record);
    return { id, record };
  }

  /**
   * The session of a cookie value, or undefined when there is none (unknown, expired, tampered).
   * Synchronous when the store is (memory) and nothing is to be written; a record at most a
   * minute from its last recorded use is returned as the store holds it (shared: never change it).
   */
  load(id: string): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    const got = this.#store.get(id);
    return got instanceof Promise ? got.then((r) => this.#checked(id, r)) : this.#checked(id, got);
  }

  /** The record if still alive, its use recorded when the last record of it is a minute old. */
  #checked(id: string, record: SessionRecord | undefined): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    if (record === undefined) return undefined;
    const now = Date.now();
    if (now >= this.expiresAt(record)) return this.#store.delete(id).then(() => undefined);
    if (now - record.lastSeenAt < TOUCH_INTERVAL_MS) return record;
    const touched = { ...record, lastSeenAt: now };
    return this.#save(id, touched).then(() => touched);
  }

  /** When the session ends unless used again: the earlier of its idle and absolute limits. */
  expiresAt(r: SessionRecord): number {
    return Math.min(r.lastSeenAt + this.#cfg.session.idleTimeoutSec * 1000, r.createdAt + this.#cfg.session.absoluteTimeoutSec * 1000);
  }

  async revoke(id: string): Promise<void> {
    await this.#store.delete(id);
  }

  /** The record with an access token good for at least `refreshSkewSec` more, refreshing it when needed. */
  fresh(id: string, record: SessionRecord): SessionRecord | Promise<SessionRecord> {
    if (record.accessExpiresAt - this.#cfg.refreshSkewSec * 1000 > Date.now()) return record;
    let p = this.#refreshing.get(id);
    if (!p) {
      p = this.#refreshOnce(id).finally(() => this.#refreshing.delete(id));
      this.#refreshing.set(id, p);
    }
    return p;
  }

  async #refreshOnce(id: string): Promise<SessionRecord> {
    const timeoutMs = this.#cfg.timeoutMs;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const release = await this.#store.lock(id, timeoutMs + 1000);
      if (release) {
        try {
          // Another instance may have refreshed between our read and the lock: re-read first.
          const current = await this.load(id);
          if (!current) throw SessionExpired('the session ended');
          if (current.accessExpiresAt - this.#cfg.refreshSkewSec * 1000 > Date.now()) return current;
          return await this.#refreshAtProvider(id, current);
        } finally {
          await release();
        }
      }
      // Another instance is refreshing: wait for its result to land in the store.
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
      const current = await this.load(id);
      if (!current) throw SessionExpired('the session ended');
      if (current.accessExpiresAt - this.#cfg.refreshSkewSec * 1000 > Date.now()) return current;
      if (Date.now() > until) throw IdentityProviderUnavailable('another instance is still refreshing this session');
    }
  }

  async #refreshAtProvider(id: string, record: SessionRecord): Promise<SessionRecord> {
    if (!record.refreshToken) {
      await this.revoke(id);
      throw SessionExpired('the access token expired and there is no refresh token');
    }
    let tokens: TokenSet;
    try {
      tokens = await this.#provider.refresh(record.refreshToken, record);
    } catch (err) {
      if (err instanceof ProviderRefused) {
        await this.revoke(id);
        throw SessionExpired(`the provider refused the refresh (${err.error})`);
      }
      throw err;
    }
    const next: SessionRecord = {
      ...record,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      idToken: tokens.idToken,
      accessExpiresAt: tokens.accessExpiresAt,
      lastSeenAt: Date.now(),
    };
    await this.#save(id, next);
    return next;
  }

  async #save(id: string, record: SessionRecord): Promise<void> {
    const ttl = this.expiresAt(record) - Date.now();
    await this.#store.set(id, record, ttl);
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}

function pick(claims: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (claims[n] !== undefined) out[n] = claims[n];
  return out;
}
