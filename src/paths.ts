/**
 * Where the project's folders are. The engine runs from `src/` under tsx or vitest, and from
 * `dist/src/` once built (`npm run build`); the domain's modules (resolvers, upstream loaders and
 * demo servers) are then loaded from `dist/` too, while SDL, protos and configs stay where the team
 * keeps them.
 */
import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** True when this module runs from the compiled build. */
export const COMPILED = basename(dirname(here)) === 'dist';
/** The project's root folder (package.json, schema/, gateway.yaml). */
export const PROJECT_ROOT = COMPILED ? join(here, '..', '..') : join(here, '..');
/** Root of the domain's code: the project itself, or dist/ when running compiled. */
export const CODE_ROOT = COMPILED ? join(PROJECT_ROOT, 'dist') : PROJECT_ROOT;
export const SCHEMA_DIR = join(PROJECT_ROOT, 'schema');
export const RESOLVERS_DIR = join(CODE_ROOT, 'resolvers');
export const UPSTREAMS_DIR = join(CODE_ROOT, 'upstreams');
export const DEFAULT_CONFIG = join(PROJECT_ROOT, 'gateway.yaml');
