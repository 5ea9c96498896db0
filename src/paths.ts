import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The project's root folder (where package.json, schema/ and resolvers/ live). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SCHEMA_DIR = join(PROJECT_ROOT, 'schema');
export const RESOLVERS_DIR = join(PROJECT_ROOT, 'resolvers');
export const DEFAULT_CONFIG = join(PROJECT_ROOT, 'gateway.yaml');
