// Test helpers: temp dirs holding bash fixture scripts.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const createdDirs: string[] = [];

export async function makeTempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pulldeploy-run-'));
  createdDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(createdDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Writes `#!/bin/bash` + body as an executable (or, with mode, not) file and returns its path. */
export async function writeScript(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, mode);
  return path;
}

/** Numbers printed by a fixture as `child <pid>` lines. */
export function childPids(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = /^child (\d+)$/.exec(line);
    return match?.[1] === undefined ? [] : [Number(match[1])];
  });
}
