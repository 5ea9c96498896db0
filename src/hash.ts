/** SHA-256 of a text as lowercase hex: API-key digests, APQ hashes, schema version ids. */
import { createHash } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
