// examples/cloud-init: both user-data variants run for real, with the instance's paths moved into a temp dir
// and fake aws, curl, uname and pulldeploy: the right binary is installed and run, a wrong one never is.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeFakeBin, makeScratch, runScript, type ScriptResult } from '../../helpers/run-script.js';

const examples = join(import.meta.dirname, '..', '..', '..', 'examples', 'cloud-init');

interface CloudConfig {
  write_files: { path: string; owner: string; permissions: string; content: string }[];
  runcmd: string[];
}

const readShellVariant = () => readFile(join(examples, 'user-data.sh'), 'utf8');
const readYamlVariant = async () => parse(await readFile(join(examples, 'user-data.yaml'), 'utf8')) as CloudConfig;

/** A stand-in for the binary: records how it was run (its arguments, and the malloc arena limit when one is set). */
const fakeBinary = (tag: string) =>
  Buffer.from(`#!/bin/sh\n# ${tag}\necho "$*\${MALLOC_ARENA_MAX:+ [MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX]}" >> "$PULLDEPLOY_RUNS"\n`);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Fetches from a local store: aws s3 cp s3://B/K, curl … --output F https://H/P. Both log their arguments. */
const fakes = {
  aws: `echo "aws $*" >> "$FAKE_FETCHES"
[ "$1 $2" = "s3 cp" ] || exit 2
for last; do :; done
eval "source=\\\${$(($# - 1))}"
cp "$FAKE_STORE/s3/\${source#s3://}" "$last"
`,
  curl: `echo "curl $*" >> "$FAKE_FETCHES"
output=
while [ "$#" -gt 1 ]; do
  [ "$1" = --output ] && output=$2
  shift
done
[ -f "$FAKE_STORE/https/\${1#https://}" ] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
cp "$FAKE_STORE/https/\${1#https://}" "$output"
`,
  uname: `[ "$1" = -m ] && echo "$FAKE_MACHINE"\n`,
};

let dir: string;
let cleanup: () => Promise<void>;
let env: Record<string, string>;

beforeEach(async () => {
  ({ dir, cleanup } = await makeScratch('cloud-init-'));
  const bin = await makeFakeBin(join(dir, 'bin'), fakes, ['cat', 'cp', 'grep', 'install', 'mktemp', 'rm', 'sha256sum']);
  // On an instance /usr/local/bin exists; here the instance's paths live under dir.
  await mkdir(join(dir, 'usr/local/bin'), { recursive: true });
  env = {
    PATH: bin,
    FAKE_STORE: join(dir, 'store'),
    FAKE_FETCHES: join(dir, 'fetches'),
    FAKE_MACHINE: 'x86_64',
    PULLDEPLOY_RUNS: join(dir, 'runs'),
  };
});

afterEach(async () => {
  await cleanup();
});

/** Puts a file in the fake store where BINARY_URL/pulldeploy-linux-ARCH points. */
async function serve(url: string, arch: string, bytes: Buffer): Promise<void> {
  const file = join(dir, 'store', url.replace('://', '/'), `pulldeploy-linux-${arch}`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

interface Settings {
  BINARY_URL: string;
  SHA256_LINUX_X64: string;
  SHA256_LINUX_ARM64?: string;
}

/** The script with its settings filled in as a user would, and the instance's absolute paths moved under dir. */
function prepare(script: string, settings: Settings): string {
  let text = script.replaceAll('/usr/local/bin', join(dir, 'usr/local/bin')).replaceAll('/etc/pulldeploy', join(dir, 'etc/pulldeploy'));
  for (const [name, value] of Object.entries(settings)) {
    const line = new RegExp(`^(\\s*)${name}=.*$`, 'm');
    expect(text).toMatch(line);
    text = text.replace(line, `$1${name}=${value}`);
  }
  return text;
}

const variants: Record<string, (settings: Settings) => Promise<ScriptResult>> = {
  'user-data.sh': async (settings) => {
    const script = join(dir, 'user-data.sh');
    await writeFile(script, prepare(await readShellVariant(), settings), { mode: 0o755 });
    return runScript(script, [], env);
  },
  // As cloud-init does it: write_files first, then runcmd's strings as lines of one /bin/sh script.
  'user-data.yaml': async (settings) => {
    const config = await readYamlVariant();
    for (const file of config.write_files) {
      const path = prepare(file.path, {} as Settings);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.content, { mode: parseInt(file.permissions, 8) });
    }
    const script = join(dir, 'runcmd');
    await writeFile(script, `#!/bin/sh\n${config.runcmd.map((command) => prepare(command, settings)).join('\n')}\n`, { mode: 0o755 });
    return runScript(script, [], env);
  },
};

const installed = () => join(dir, 'usr/local/bin/pulldeploy');
const readRuns = async () => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
const readFetches = async () => (await readFile(join(dir, 'fetches'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

for (const [name, bootstrap] of Object.entries(variants)) {
  describe(`examples/cloud-init/${name}`, () => {
    it('from S3: fetches the binary for this machine, checks its sha256, installs it, writes the config, deploys', async () => {
      const binary = fakeBinary('x64');
      await serve('s3://releases/pulldeploy/0.1.0', 'x64', binary);
      const result = await bootstrap({ BINARY_URL: 's3://releases/pulldeploy/0.1.0', SHA256_LINUX_X64: sha256(binary) });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(await readFetches()).toEqual([
        expect.stringMatching(/^aws s3 cp --only-show-errors s3:\/\/releases\/pulldeploy\/0\.1\.0\/pulldeploy-linux-x64 \S+$/),
      ]);
      expect(await readFile(installed())).toEqual(binary);
      expect((await stat(installed())).mode & 0o777).toBe(0o755);
      const config = join(dir, 'etc/pulldeploy/config.yaml');
      expect(await readFile(config, 'utf8')).toBe('bucket: my-releases\n');
      expect((await stat(config)).mode & 0o777).toBe(0o644);
      expect(await readRuns()).toEqual(['--version', 'myapp testing -v [MALLOC_ARENA_MAX=2]']);
    });

    it('over HTTPS: curl fails on HTTP errors and refuses to leave https', async () => {
      const binary = fakeBinary('x64 over https');
      await serve('https://downloads.example.com/pulldeploy/0.1.0', 'x64', binary);
      const result = await bootstrap({ BINARY_URL: 'https://downloads.example.com/pulldeploy/0.1.0', SHA256_LINUX_X64: sha256(binary) });
      expect(result.exitCode).toBe(0);
      const [fetch] = await readFetches();
      expect(fetch).toContain('--fail');
      expect(fetch).toContain("--proto =https");
      expect(fetch).toMatch(/ https:\/\/downloads\.example\.com\/pulldeploy\/0\.1\.0\/pulldeploy-linux-x64$/);
      expect(await readFile(installed())).toEqual(binary);
      expect(await readRuns()).toEqual(['--version', 'myapp testing -v [MALLOC_ARENA_MAX=2]']);
    });

    it('on arm64: fetches and checks the arm64 binary', async () => {
      env.FAKE_MACHINE = 'aarch64';
      const binary = fakeBinary('arm64');
      await serve('s3://releases/pulldeploy/0.1.0', 'arm64', binary);
      const result = await bootstrap({
        BINARY_URL: 's3://releases/pulldeploy/0.1.0',
        SHA256_LINUX_X64: sha256(fakeBinary('x64')),
        SHA256_LINUX_ARM64: sha256(binary),
      });
      expect(result.exitCode).toBe(0);
      expect(await readFetches()).toEqual([expect.stringContaining('/pulldeploy-linux-arm64 ')]);
      expect(await readFile(installed())).toEqual(binary);
    });

    it('refuses a binary whose sha256 does not match: nothing installed, nothing run', async () => {
      await serve('s3://releases/pulldeploy/0.1.0', 'x64', fakeBinary('tampered'));
      const result = await bootstrap({ BINARY_URL: 's3://releases/pulldeploy/0.1.0', SHA256_LINUX_X64: sha256(fakeBinary('x64')) });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/FAILED/);
      expect(result.stderr).toContain(
        'pulldeploy bootstrap: s3://releases/pulldeploy/0.1.0/pulldeploy-linux-x64 does not have the sha256 given in this user data; not installed',
      );
      expect(existsSync(installed())).toBe(false);
      expect(await readRuns()).toEqual([]);
    });

    it('stops when the download fails', async () => {
      const result = await bootstrap({ BINARY_URL: 'https://downloads.example.com/missing', SHA256_LINUX_X64: sha256(fakeBinary('x64')) });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('404');
      expect(existsSync(installed())).toBe(false);
      expect(await readRuns()).toEqual([]);
    });

    it('refuses to fetch anything while the sha256 is still the placeholder', async () => {
      const result = await bootstrap({ BINARY_URL: 's3://releases/pulldeploy/0.1.0', SHA256_LINUX_X64: 'put-the-sha256-here' });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(
        "the sha256 for linux-x64 is not set: copy the pulldeploy-linux-x64 line's digest from SHA256SUMS",
      );
      expect(await readFetches()).toEqual([]);
    });

    it('refuses a URL that is neither s3:// nor https://', async () => {
      const result = await bootstrap({ BINARY_URL: 'http://downloads.example.com/pulldeploy', SHA256_LINUX_X64: sha256(fakeBinary('x64')) });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('BINARY_URL must start with s3:// or https://, got http://downloads.example.com/pulldeploy');
      expect(await readFetches()).toEqual([]);
    });

    it('says there is no binary for another machine', async () => {
      env.FAKE_MACHINE = 'riscv64';
      const result = await bootstrap({ BINARY_URL: 's3://releases/pulldeploy/0.1.0', SHA256_LINUX_X64: sha256(fakeBinary('x64')) });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('no pulldeploy binary for this machine (riscv64)');
    });
  });
}

describe('the two cloud-init variants', () => {
  it('have the same settings with the same example values', async () => {
    const settingsOf = (script: string) =>
      Object.fromEntries([...script.matchAll(/^\s*(BINARY_URL|SHA256_LINUX_X64|SHA256_LINUX_ARM64|SERVICE|ENVIRONMENT)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    const shell = settingsOf(await readShellVariant());
    expect(Object.keys(shell)).toHaveLength(5);
    expect(settingsOf((await readYamlVariant()).runcmd.join('\n'))).toEqual(shell);
  });

  it('write the same configuration file, root-owned and not world-writable', async () => {
    const shell = await readShellVariant();
    const bucket = /^BUCKET=(.*)$/m.exec(shell)?.[1];
    const [file, ...others] = (await readYamlVariant()).write_files;
    expect(others).toEqual([]);
    expect(file).toEqual({ path: '/etc/pulldeploy/config.yaml', owner: 'root:root', permissions: '0644', content: `bucket: ${bucket}\n` });
    expect(shell).toContain('cat > /etc/pulldeploy/config.yaml <<CONFIG\nbucket: $BUCKET\nCONFIG\n');
  });
});
