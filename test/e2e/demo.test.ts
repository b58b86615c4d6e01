// The README's first command: the demo deploys the example releases and leaves no process behind.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');

it('npm run demo deploys the examples from a local S3 into a temp root', async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, 'scripts', 'demo.mjs')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
  expect(output).toContain('[pre-release/10-check-release] pre-release: myapp 20261122.1-3f2a9c1');
  expect(output).toContain('[apply] states found:');
  expect(output).toContain('srv/myapp/current -> releases/20261122.1-3f2a9c1');
  expect(output).toContain('srv/base/current -> releases/20261122.1-base');
  expect(output).toContain('state.json: success (exit 0)');
  expect(code).toBe(0);
  const work = /files left in (\S+)/.exec(output)?.[1];
  expect(work).toMatch(/pulldeploy-demo-/);
  await rm(work!, { recursive: true, force: true });
});
