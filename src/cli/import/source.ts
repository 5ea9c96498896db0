/**
 * Reading the files an importer is given: bounded in size, with one-line errors.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Largest file an importer reads (an OpenAPI document, or one .proto with its imports together). */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

/** A problem with the imported file: printed as one line, exit code 1. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

/** The file's text; refuses a missing file, a folder, and anything over `maxBytes`. */
export function readBounded(file: string, maxBytes = MAX_IMPORT_BYTES): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImportError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ImportError(`${file}: not a file`);
    if (st.size > maxBytes) throw new ImportError(`${file}: ${st.size} bytes, more than the ${maxBytes} an import reads`);
    // Read at most maxBytes + 1 even if the file grew after fstat.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > maxBytes) throw new ImportError(`${file}: more than the ${maxBytes} bytes an import reads`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** `--operations a,b` / `--methods A,B` as a list; empty entries dropped. */
export function parseList(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  return s.split(',').map((x) => x.trim()).filter(Boolean);
}

/** The upstream name for a file when `--upstream` is not given: its name up to the first dot, made a config key. */
export function upstreamFromFile(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? '';
  const stem = base.split('.')[0] ?? '';
  const cleaned = stem.replace(/[^\w-]+/g, '-').replace(/^-+|-+$/g, '');
  if (!cleaned) return 'upstream';
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** Upstream names as the config accepts them (`upstreams.<name>`). */
export const UPSTREAM_NAME = /^[A-Za-z_][\w-]*$/;
