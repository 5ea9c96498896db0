/**
 * Sliding-window and token-bucket counters in Redis: one Lua script per decision, so that a
 * read, the decision and the write happen atomically however many instances share the key.
 * The scripts read the clock from Redis (`TIME`), so instances whose clocks differ still agree.
 * They follow src/limits/algorithms.ts step for step; what they return, the same functions there
 * turn into remaining points and reset times.
 *
 * Redis failures are handled as rate-limiter-flexible handles them for fixed windows: a
 * connection that is not ready, or a command that fails or times out, sends the call to the
 * insurance counter (in memory, marking the call's options `insured`) when there is one, and
 * rejects with the error otherwise (see limiter-store.ts).
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../redis/client.js';
import { bucketOutcome, slidingOutcome, type CounterSpec, type PointConsumer } from './algorithms.js';

/** KEYS[1]: hash {i, p, c}. ARGV: limit, durationMs, points[, nowMs (tests)]. Returns {allowed, p, c, elapsed}. */
const SLIDING = `
local limit = tonumber(ARGV[1])
local d = tonumber(ARGV[2])
local points = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local index = math.floor(now / d)
local s = redis.call('HMGET', KEYS[1], 'i', 'p', 'c')
local i = tonumber(s[1])
local p = tonumber(s[2]) or 0
local c = tonumber(s[3]) or 0
if i ~= index then
  if i == index - 1 then p = c else p = 0 end
  c = 0
end
local elapsed = now - index * d
local allowed = 0
if p * (d - elapsed) + (c + points) * d <= limit * d then
  allowed = 1
  c = c + points
end
redis.call('HSET', KEYS[1], 'i', index, 'p', p, 'c', c)
redis.call('PEXPIRE', KEYS[1], 2 * d - elapsed)
return {allowed, p, c, elapsed}
`;

/** KEYS[1]: hash {l (tokens × durationMs), a}. ARGV: burst, refill, durationMs, points[, nowMs (tests)]. Returns {allowed, level}. */
const BUCKET = `
local burst = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local d = tonumber(ARGV[3])
local points = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local s = redis.call('HMGET', KEYS[1], 'l', 'a')
local level = tonumber(s[1])
local at = tonumber(s[2])
if not level or not at then
  level = burst * d
  at = now
end
if now > at then
  level = math.min(burst * d, level + (now - at) * refill)
  at = now
end
local allowed = 0
if level >= points * d then
  allowed = 1
  level = level - points * d
end
redis.call('HSET', KEYS[1], 'l', string.format('%.17g', level), 'a', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst * d - level) / refill)))
return {allowed, level}
`;

/** The commands the scripts add to an ioredis client (`defineCommand`). */
interface ScriptedClient {
  gwSlidingTake(key: string, limit: number, durationMs: number, points: number, now?: number): Promise<[number, number, number, number]>;
  gwBucketTake(key: string, burst: number, refill: number, durationMs: number, points: number, now?: number): Promise<[number, number]>;
}

/** Adds the scripts to `client` once (ioredis sends EVALSHA, and the script itself when Redis lacks it). */
export function scripted(client: RedisClient): RedisClient & ScriptedClient {
  const c = client as RedisClient & Partial<ScriptedClient>;
  if (!c.gwSlidingTake) client.defineCommand('gwSlidingTake', { numberOfKeys: 1, lua: SLIDING });
  if (!c.gwBucketTake) client.defineCommand('gwBucketTake', { numberOfKeys: 1, lua: BUCKET });
  return c as RedisClient & ScriptedClient;
}

interface Insured {
  insured: boolean;
}

abstract class RedisCounter implements PointConsumer {
  protected readonly client: RedisClient & ScriptedClient;

  constructor(
    client: RedisClient,
    protected readonly spec: CounterSpec,
    /** `<redis.keyPrefix>rl:<window>@<algorithm>:` */
    protected readonly prefix: string,
    readonly insurance: PointConsumer | undefined,
  ) {
    this.client = scripted(client);
  }

  protected abstract take(key: string, points: number): Promise<{ allowed: boolean; res: RateLimiterRes }>;

  async consume(key: string, points: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    let outcome: { allowed: boolean; res: RateLimiterRes };
    try {
      if (this.client.status !== 'ready') throw new Error(`Redis connection is ${this.client.status}`);
      outcome = await this.take(this.prefix + key, points);
    } catch (err) {
      if (!this.insurance) throw err;
      if (options) (options as unknown as Insured).insured = true;
      return this.insurance.consume(key, points, options);
    }
    if (!outcome.allowed) throw outcome.res;
    return outcome.res;
  }
}

export class RedisSlidingWindow extends RedisCounter {
  protected async take(key: string, points: number): Promise<{ allowed: boolean; res: RateLimiterRes }> {
    const { limit, durationMs } = this.spec;
    const [allowed, p, c, elapsed] = await this.client.gwSlidingTake(key, limit, durationMs, points);
    const o = slidingOutcome(allowed === 1, p, c, elapsed, points, limit, durationMs);
    return { allowed: o.allowed, res: new RateLimiterRes(o.remaining, o.resetMs) };
  }
}

export class RedisTokenBucket extends RedisCounter {
  protected async take(key: string, points: number): Promise<{ allowed: boolean; res: RateLimiterRes }> {
    const { limit, durationMs, burst } = this.spec;
    const [allowed, level] = await this.client.gwBucketTake(key, burst, limit, durationMs, points);
    const o = bucketOutcome(allowed === 1, level, points, burst, limit, durationMs);
    return { allowed: o.allowed, res: new RateLimiterRes(o.remaining, o.resetMs) };
  }
}
