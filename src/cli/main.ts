#!/usr/bin/env node
// The executable: everything lives in runMain, so the CLI is testable; this is the one place that exits.
import { runMain } from './run-main.js';

void runMain(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then((code) =>
  process.exit(code),
);
