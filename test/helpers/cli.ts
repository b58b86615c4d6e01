// Runs the built CLI (or the binary named by PULLDEPLOY_TEST_BIN) as a child process with a cleared environment.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const repo = join(import.meta.dirname, '..', '..');

export function cliCommand(): string[] {
  const binary = process.env.PULLDEPLOY_TEST_BIN;
  return binary ? [binary] : [process.execPath, join(repo, 'dist', 'js', 'cli', 'main.js')];
}

/** Only what is given reaches the child: no credentials or settings leak in from the test's own environment. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  const [program, ...prefix] = cliCommand();
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program!, [...prefix, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}
