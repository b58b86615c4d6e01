#!/usr/bin/env node
// The executable: everything lives in runMain, so the CLI is testable; this is the one place that exits.
import { writeSync } from 'node:fs';
import { describeVersion } from '../version.js';

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

const argv = process.argv.slice(2);
if (argv[0] === '--version' || argv[0] === 'version') {
  // Answered before the rest of the CLI is loaded or a stdio stream is made: that is most of what it would cost.
  writeSync(1, `${describeVersion()}\n`);
  process.exit(0);
}

blockWrites(process.stdout);
blockWrites(process.stderr);

void import('./run-main.js')
  .then(({ runMain }) => runMain(argv, { env: process.env, stdout: process.stdout, stderr: process.stderr }))
  .then((code) => process.exit(code));
