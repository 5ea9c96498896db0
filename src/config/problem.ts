/** One problem of a config file, reported by its key path. */
export interface ConfigProblem {
  /** Dotted key path with list indexes, e.g. `routes[0].match.pathPrefix`. */
  path: string;
  message: string;
}
