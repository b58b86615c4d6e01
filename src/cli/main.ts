#!/usr/bin/env node
// The executable: everything lives in runMain, so the CLI is testable; this is the one place that exits.
import { runMain } from './run-main.js';

/**
 * Node writes to a pipe without blocking and queues what the reader has not taken yet, so a hook printing 100 MB
 * to a slow log reader (journald, a pipe to a file) grew the agent by as much (+230 MB measured). Blocking
 * writes, as to a file, slow the hook down instead, and nothing queued is lost at exit.
 */
function blockWrites(stream: NodeJS.WriteStream): void {
  const handle: unknown = Reflect.get(stream, '_handle');
  if (typeof handle !== 'object' || handle === null) return;
  const setBlocking: unknown = Reflect.get(handle, 'setBlocking');
  if (typeof setBlocking === 'function') setBlocking.call(handle, true);
}

blockWrites(process.stdout);
blockWrites(process.stderr);

void runMain(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then((code) =>
  process.exit(code),
);
