import type { Command } from 'commander';
import type { CliIO } from '../cli.js';

/** `schema check | publish | history | diff` (the registry commands). */
export function registerSchemaCommands(_schema: Command, _io: CliIO, _setExit: (code: number) => void): void {}
