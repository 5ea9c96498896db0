/** Folders compiled into dist/. */
export declare const SOURCE_DIRS: string[];
/** Written last by a successful build. */
export declare const STAMP: string;
/** Every file below `dir` whose name ends with `ext`. */
export declare function listFiles(dir: string, ext: string): string[];
/** True when the build exists and no TypeScript source or proto is newer than it. */
export declare function buildIsFresh(root: string): boolean;
