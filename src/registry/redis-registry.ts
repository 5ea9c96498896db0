/**
 * A registry in Redis, for teams whose CI jobs share no file system. Versions live in one list
 * (`<prefix>schema:versions`, JSON entries); publishing is one Lua script, so it is atomic
 * against concurrent publishers. The key prefix comes from the URL's `prefix` query parameter
 * (default `gw:`), e.g. `redis://127.0.0.1:6379/0?prefix=shop:`.
 */
import { Redis } from 'ioredis';
import { sdlHash } from './file-registry.js';
import type { SchemaRegistry, SchemaVersion, VersionMeta } from './types.js';

const PUBLISH = `
local last = redis.call('LINDEX', KEYS[1], -1)
if last then
  local v = cjson.decode(last)
  if v.hash == ARGV[1] then return last end
  ARGV[3] = tostring(v.version + 1)
else
  ARGV[3] = '1'
end
local entry = cjson.encode({ version = tonumber(ARGV[3]), hash = ARGV[1], publishedAt = ARGV[2], sdl = ARGV[4], commit = ARGV[5] ~= '' and ARGV[5] or nil })
redis.call('RPUSH', KEYS[1], entry)
return '+' .. entry
`;

export class RedisRegistry implements SchemaRegistry {
  readonly location: string;
  readonly #client: Redis;
  readonly #key: string;

  constructor(url: string) {
    const u = new URL(url);
    const prefix = u.searchParams.get('prefix') ?? 'gw:';
    u.search = '';
    this.location = `${u.origin}${u.pathname} (prefix ${prefix})`;
    this.#key = `${prefix}schema:versions`;
    this.#client = new Redis(u.toString(), { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: false });
    this.#client.on('error', () => {
      // Command failures surface where the command was issued; this avoids an unhandled event.
    });
  }

  async list(): Promise<VersionMeta[]> {
    const raw = await this.#client.lrange(this.#key, 0, -1);
    return raw.map((r) => {
      const { sdl: _sdl, ...meta } = JSON.parse(r) as SchemaVersion;
      return meta;
    });
  }

  async get(version: number): Promise<SchemaVersion | undefined> {
    const raw = await this.#client.lindex(this.#key, version - 1);
    return raw ? (JSON.parse(raw) as SchemaVersion) : undefined;
  }

  async latest(): Promise<SchemaVersion | undefined> {
    const raw = await this.#client.lindex(this.#key, -1);
    return raw ? (JSON.parse(raw) as SchemaVersion) : undefined;
  }

  async publish(sdl: string, commit?: string): Promise<{ version: SchemaVersion; created: boolean }> {
    const out = (await this.#client.eval(PUBLISH, 1, this.#key, sdlHash(sdl), new Date().toISOString(), '', sdl, commit ?? '')) as string;
    const created = out.startsWith('+');
    return { version: JSON.parse(created ? out.slice(1) : out) as SchemaVersion, created };
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}
