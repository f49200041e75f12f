/** The CLI's public surface: run it, its exit codes, and the clients scripts and tests reuse. */
export { type BatchAccepted, type BatchClient, batchClient } from './batch-client';
export { EXIT, type ExitCode } from './errors';
export { Client, type Connection } from './http';
export { run } from './main';
