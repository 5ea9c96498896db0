#!/usr/bin/env node
// The gateway runs its TypeScript directly (tsx registers an ESM loader), so a fresh
// clone needs no build step and edited resolvers take effect on the next start.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
