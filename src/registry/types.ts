/** A schema registry: an append-only list of published SDL versions. */
export interface SchemaVersion {
  /** 1, 2, 3, … in publish order. */
  version: number;
  /** sha256 of the SDL, to tell "unchanged" without comparing text. */
  hash: string;
  publishedAt: string;
  /** The git commit the schema was published from, when known (GITHUB_SHA, CI_COMMIT_SHA or `git rev-parse`). */
  commit?: string;
  sdl: string;
}

export type VersionMeta = Omit<SchemaVersion, 'sdl'>;

export interface SchemaRegistry {
  /** Human-readable location, for messages. */
  readonly location: string;
  latest(): Promise<SchemaVersion | undefined>;
  get(version: number): Promise<SchemaVersion | undefined>;
  list(): Promise<VersionMeta[]>;
  /**
   * Appends `sdl` as a new version unless it equals the latest (then returns the latest with
   * `created: false`). Atomic against concurrent publishers: each gets a distinct version.
   */
  publish(sdl: string, commit?: string): Promise<{ version: SchemaVersion; created: boolean }>;
  close(): Promise<void>;
}
