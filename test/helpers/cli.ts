// Runs the built CLI (or the binary named by PULLDEPLOY_TEST_BIN) as a child process with a cleared environment.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  exitCode: number | null;
  /** The signal that ended the process, when one did (a SIGKILL from a crash point). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const repo = join(import.meta.dirname, '..', '..');

export function cliCommand(): string[] {
  const binary = process.env.PULLDEPLOY_TEST_BIN;
  return binary ? [binary] : [process.execPath, join(repo, 'dist', 'js', 'cli', 'main.js')];
}

export interface StartedCli {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited and its output is closed. */
  result: Promise<CliResult>;
}

/**
 * Starts the CLI without waiting: for killing it at a chosen moment, watching its memory, or holding its stdin open.
 * With `keepChars`, only the last that many characters of each output are kept (a run that prints 100 MB).
 */
export function startCli(args: string[], env: Record<string, string>, timeoutMs = 60_000, keepChars = Infinity): StartedCli {
  const [program, ...prefix] = cliCommand();
  const started = Date.now();
  const child = spawn(program!, [...prefix, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const keep = (text: string) => (text.length > keepChars ? text.slice(-keepChars) : text);
    child.stdout.on('data', (chunk: Buffer) => (stdout = keep(stdout + chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (stderr = keep(stderr + chunk.toString())));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, ...(signal !== null ? { signal } : {}), stdout, stderr, durationMs: Date.now() - started });
    });
  });
  return { child, result };
}

/** Only what is given reaches the child: no credentials or settings leak in from the test's own environment. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  const { child, result } = startCli(args, env, timeoutMs);
  child.stdin.end();
  return result;
}
