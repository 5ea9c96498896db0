/**
 * Loads a team's module (a resolver or loader module, a demo server) by file path. The engine
 * itself runs as compiled JavaScript; a `.ts` domain file needs a TypeScript loader, which is
 * registered on first need when the development dependency `tsx` is installed. Under a runner
 * that already understands TypeScript (vitest, tsx) nothing is registered.
 */
import { pathToFileURL } from 'node:url';

let tsLoader: Promise<void> | undefined;

function needsLoader(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_ESM_URL_SCHEME';
}

async function registerTypeScript(file: string): Promise<void> {
  tsLoader ??= import('tsx/esm/api').then(
    (m) => {
      m.register();
    },
    () => {
      tsLoader = undefined;
      throw new Error(`${file} is TypeScript and no TypeScript loader is installed: run \`npm run build\` and point at the compiled .js file, or install tsx`);
    },
  );
  return tsLoader;
}

/** Imports `file` (absolute path) and returns its namespace. */
export async function loadModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if (!file.endsWith('.ts') || !needsLoader(err)) throw err;
  }
  await registerTypeScript(file);
  // Node remembers the failed import of this URL: ask again under a URL of its own.
  return (await import(`${url}?ts`)) as Record<string, unknown>;
}
