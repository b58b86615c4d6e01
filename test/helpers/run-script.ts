// Runs a shell script (a hook, an example) as a child process with only the environment given, and fake commands for PATH.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScriptResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ScriptResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** A scratch directory removed by the returned cleanup. */
export async function makeScratch(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A directory for PATH holding the fake commands given (name → sh script body) and links to the
 * real tools named, so a script sees exactly those commands and nothing else.
 */
export async function makeFakeBin(dir: string, fakes: Record<string, string>, realTools: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, body] of Object.entries(fakes)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${body}`, { mode: 0o755 });
  }
  for (const tool of realTools) {
    const real = ['/usr/bin', '/bin'].map((prefix) => join(prefix, tool)).find((path) => canExecute(path));
    if (real === undefined) throw new Error(`test needs ${tool} in /usr/bin or /bin`);
    await symlink(real, join(dir, tool));
  }
  return dir;
}

function canExecute(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
