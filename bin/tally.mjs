#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so the repository needs no build step.
import { register } from 'tsx/esm/api';
register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv.slice(2));
