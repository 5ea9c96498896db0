/** One problem of a config file, reported by its key path. */
export interface ConfigProblem {
  /** Dotted key path with list indexes, e.g. `routes[0].match.pathPrefix`. */
  path: string;
  message: string;
  /** 1-based line of the file the key (or its nearest enclosing key) is on, when the problem came from a file's text. */
  line?: number;
}
