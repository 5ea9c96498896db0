/**
 * The embedded registry: a folder holding `v<N>.graphql` files and `index.json`. Publishing
 * takes a lock (an exclusive `mkdir`, which is atomic on every file system), writes the SDL and
 * then the index through a temp file + rename, so readers never see a half-written index and
 * concurrent publishers get distinct versions. A lock older than 30 s is considered stale.
 */
import { sha256Hex } from '../hash.js';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SchemaRegistry, SchemaVersion, VersionMeta } from './types.js';

const STALE_LOCK_MS = 30_000;

/** A schema version's id: the SHA-256 of its SDL. */
export const sdlHash = sha256Hex;

export class FileRegistry implements SchemaRegistry {
  readonly location: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = resolve(dir);
    this.location = this.#dir;
  }

  async list(): Promise<VersionMeta[]> {
    try {
      return JSON.parse(await readFile(join(this.#dir, 'index.json'), 'utf8')) as VersionMeta[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`${join(this.#dir, 'index.json')}: unreadable registry index (${(err as Error).message})`);
    }
  }

  async get(version: number): Promise<SchemaVersion | undefined> {
    const meta = (await this.list()).find((v) => v.version === version);
    if (!meta) return undefined;
    return { ...meta, sdl: await readFile(join(this.#dir, `v${version}.graphql`), 'utf8') };
  }

  async latest(): Promise<SchemaVersion | undefined> {
    const all = await this.list();
    const last = all[all.length - 1];
    return last ? this.get(last.version) : undefined;
  }

  async #lock(): Promise<() => Promise<void>> {
    await mkdir(this.#dir, { recursive: true });
    const lock = join(this.#dir, '.lock');
    for (let i = 0; ; i++) {
      try {
        await mkdir(lock);
        return () => rm(lock, { recursive: true, force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
        if (i > 600) throw new Error(`${lock}: registry is locked by another publisher`);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      }
    }
  }

  async publish(sdl: string, commit?: string): Promise<{ version: SchemaVersion; created: boolean }> {
    const unlock = await this.#lock();
    try {
      const all = await this.list();
      const hash = sdlHash(sdl);
      const last = all[all.length - 1];
      if (last && last.hash === hash) return { version: (await this.get(last.version))!, created: false };
      const meta: VersionMeta = { version: (last?.version ?? 0) + 1, hash, publishedAt: new Date().toISOString(), ...(commit ? { commit } : {}) };
      await writeFile(join(this.#dir, `v${meta.version}.graphql`), sdl);
      const tmp = join(this.#dir, `.index.${process.pid}.tmp`);
      await writeFile(tmp, `${JSON.stringify([...all, meta], null, 2)}\n`);
      await rename(tmp, join(this.#dir, 'index.json'));
      return { version: { ...meta, sdl }, created: true };
    } finally {
      await unlock();
    }
  }

  async close(): Promise<void> {}
}
