/** Where in a file a composition problem is (1-based, as editors count). */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A schema that does not compose; the message names the file (and line:column, when known) the problem is in. */
export class CompositionError extends Error {
  readonly file: string;
  readonly position: SourcePosition | undefined;

  constructor(file: string, problem: string, position?: SourcePosition) {
    super(`${file}${position ? `:${position.line}:${position.column}` : ''}: ${problem}`);
    this.name = 'CompositionError';
    this.file = file;
    this.position = position;
  }
}
