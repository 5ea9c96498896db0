import type { Command } from 'commander';
import type { CliIO } from '../cli.js';

/** `gateway token`: mints a development token. */
export function registerTokenCommand(_program: Command, _io: CliIO, _setExit: (code: number) => void): void {}
