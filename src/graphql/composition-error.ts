/** A schema that does not compose; the message names the file the problem is in. */
export class CompositionError extends Error {
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CompositionError';
    this.file = file;
  }
}
