#!/usr/bin/env node
// The `chorus` bin: registers tsx's loader in this process and runs the TypeScript CLI, so a clean
// clone needs only `npm install` (no build step, nothing generated to keep in step).
import { register } from 'tsx/esm/api';

// `chorus … | head` closes the pipe early: that ends the output, it is not a crash
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2));
