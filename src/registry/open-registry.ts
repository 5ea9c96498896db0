import { FileRegistry } from './file-registry.js';
import { RedisRegistry } from './redis-registry.js';
import type { SchemaRegistry } from './types.js';

/** `redis://` / `rediss://` URLs open a Redis registry; anything else is a folder. */
export function openRegistry(reg: string): SchemaRegistry {
  return /^rediss?:\/\//.test(reg) ? new RedisRegistry(reg) : new FileRegistry(reg);
}
