/**
 * Caches keyed by a client's document text (parsed documents, parse errors, validation
 * outcomes), bounded by bytes: the text is the client's, so a count bound alone lets a few
 * hundred large documents hold hundreds of megabytes.
 *
 * A parsed document costs about 32 bytes of heap per character of its text (measured on
 * graphql-js 16 with the introspection query); the estimate below charges that plus a fixed
 * overhead per entry. Texts over {@link MAX_CACHED_TEXT} are never kept: large documents are
 * rare in honest traffic and are exactly what an attacker would use to fill the cache.
 */
import { LRUCache } from 'lru-cache';

/** Longest document text a cache keeps. */
export const MAX_CACHED_TEXT = 16 * 1024;

const BYTES_PER_CHAR = 32;
const ENTRY_OVERHEAD = 1024;

/** Estimated heap bytes held by one entry for a document text. */
export function documentEntryBytes(text: string): number {
  return text.length * BYTES_PER_CHAR + ENTRY_OVERHEAD;
}

/** An LRU of document text → value holding at most `maxBytes` (estimated); undefined when `maxBytes` is 0. */
export function createDocumentCache<V extends {}>(maxBytes: number): LRUCache<string, V> | undefined {
  if (maxBytes <= 0) return undefined;
  return new LRUCache<string, V>({
    maxSize: maxBytes,
    maxEntrySize: Math.min(maxBytes, documentEntryBytes('x'.repeat(MAX_CACHED_TEXT))),
    sizeCalculation: (_v, key) => documentEntryBytes(key),
  });
}
