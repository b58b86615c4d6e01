// Bad configuration and a bad environment through the whole CLI (reliability suite, issue 6): unknown keys, wrong
// types, a configuration file that is unreadable or that others could change (refused: it decides what runs as
// root), no salt-call, a root that cannot be written. Each is one clear message with exit 2 (or the documented
// exit), before anything changes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, listTree, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

/** The unprivileged user some cases run as (Debian's nobody). */
const nobody = 65534;

let world: DeployWorld;
let root: string;
let cases = 0;
/** World-readable, so the unprivileged user can reach what it is meant to reach. */
let open: string;

beforeAll(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
  await world.release('myapp', 'v1', serviceRelease('v1'));
  open = await mkdtemp(join(tmpdir(), 'pulldeploy-open-'));
  await chmod(open, 0o755);
});

afterAll(async () => {
  await rm(open, { recursive: true, force: true });
  await world.stop();
});

beforeEach(async () => {
  cases += 1;
  root = join(world.work, `case-${cases}`);
  await mkdir(root);
});

const deploy = (extraArgs: string[] = [], env: Record<string, string> = {}) =>
  runCli(['myapp', 'testing', '--root', root, ...extraArgs], { ...world.env, ...env });

async function writeConfig(text: string, mode = 0o644): Promise<string> {
  const file = join(root, 'etc/pulldeploy/config.yaml');
  await mkdir(join(root, 'etc/pulldeploy'), { recursive: true });
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

/** The run changed nothing: no tree under srv/, no lock, no state (the configuration file itself aside). */
async function expectNothingWritten(): Promise<void> {
  expect((await listTree(root)).filter((line) => !line.startsWith('etc/'))).toEqual([]);
}

function errorText(result: CliResult): string {
  return result.stderr.trim();
}

/** The error line of a run that got past its first steps (their log lines come before it). */
function lastLine(result: CliResult): string {
  return result.stderr.trim().split('\n').at(-1) ?? '';
}

describe('bad configuration: exit 2 naming every problem, nothing changed', () => {
  it('an unknown key, with the known ones listed', async () => {
    const file = await writeConfig('fetch:\n  max_byte: 10\n');
    const result = await deploy();

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(
      `error: invalid configuration in ${file}:\n  - fetch.max_byte: unknown key (known keys: fetch.max_bytes, fetch.max_entries, fetch.attempts, fetch.read_timeout)`,
    );
    await expectNothingWritten();
  });

  it('wrong types, a value below its minimum and an unknown key, all at once', async () => {
    const file = await writeConfig('hooks:\n  timeout: ten\n  kill_grace: -1\nlb:\n  register: maybe\nverify_keys: 5\nkeep_relases: 2\n');
    const result = await deploy();

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(
      [
        `error: invalid configuration in ${file}:`,
        '  - hooks.timeout: expected an integer, got string "ten"',
        '  - lb.register: expected a boolean, got string "maybe"',
        '  - verify_keys: expected a list of strings, got integer 5',
        `  - keep_relases: unknown key (known keys: ${'bucket, prefix, base_service, domain, verify_keys, keep_releases, lock_timeout, apply, hooks, lb, asg, check, fetch'})`,
        '  - hooks.kill_grace: must be at least 0, got -1',
      ].join('\n'),
    );
    await expectNothingWritten();
  });

  it('a wrong type in the environment and a bad flag', async () => {
    const result = await deploy(['--lock-timeout', 'soon'], { PULLDEPLOY_FETCH_ATTEMPTS: 'many' });

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toMatch(/^error: .*lock-timeout.*soon/);
    await expectNothingWritten();
    const env = await deploy([], { PULLDEPLOY_FETCH_ATTEMPTS: 'many' });
    expect(env.exitCode).toBe(2);
    expect(errorText(env)).toBe('error: invalid configuration in environment and flags:\n  - PULLDEPLOY_FETCH_ATTEMPTS: expected an integer, got "many"');
  });

  it('YAML that does not parse, and YAML that is not a mapping', async () => {
    const file = await writeConfig('bucket: [unclosed\n');
    const broken = await deploy();
    expect(broken.exitCode).toBe(2);
    expect(errorText(broken)).toMatch(new RegExp(`^error: invalid configuration in ${file}:\\n  - not valid YAML: `));

    await writeConfig('- a\n- list\n');
    const list = await deploy();
    expect(list.exitCode).toBe(2);
    expect(errorText(list)).toBe(`error: invalid configuration in ${file}:\n  - the document: expected a mapping of keys`);
    await expectNothingWritten();
  });

  it('no bucket anywhere', async () => {
    const env: Record<string, string> = { ...world.env };
    delete env.PULLDEPLOY_BUCKET;
    const result = await runCli(['myapp', 'testing', '--root', root], env);

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe('error: no bucket configured: set "bucket" in /etc/pulldeploy/config.yaml, PULLDEPLOY_BUCKET or --bucket');
    await expectNothingWritten();
  });
});

describe('a configuration file others could change, or that cannot be read: refused with exit 2', () => {
  it('world-writable', async () => {
    const file = await writeConfig('bucket: b\n', 0o666);
    const result = await deploy();

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(`error: invalid configuration in ${file}:\n  - the file is world-writable: run "chmod o-w ${file}"`);
    await expectNothingWritten();
  });

  it('owned by another user than root', async () => {
    const file = await writeConfig('bucket: b\n');
    await chown(file, nobody, nobody);
    const result = await deploy();

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(
      `error: invalid configuration in ${file}:\n  - the file belongs to uid ${nobody}, who could change what runs as root: run "chown root ${file}"`,
    );
    await expectNothingWritten();
  });

  it('writable by a group other than root', async () => {
    const file = await writeConfig('bucket: b\n', 0o664);
    await chown(file, 0, nobody);
    const result = await deploy();

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(`error: invalid configuration in ${file}:\n  - the file is writable by group ${nobody}: run "chmod g-w ${file}"`);
  });

  it('reached through a symlink: the file it names is judged', async () => {
    const target = join(open, `world-writable-${cases}.yaml`);
    await writeFile(target, 'bucket: b\n');
    await chmod(target, 0o666);
    const link = join(root, 'linked.yaml');
    await symlink(target, link);
    const result = await deploy(['--config', link]);

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toContain('the file is world-writable');
  });

  it('named by --config but missing, or a directory', async () => {
    const missing = await deploy(['--config', join(root, 'nope.yaml')]);
    expect(missing.exitCode).toBe(2);
    expect(errorText(missing)).toBe(`error: invalid configuration in ${join(root, 'nope.yaml')}:\n  - cannot read it: the file does not exist`);

    await mkdir(join(root, 'dir.yaml'));
    const directory = await deploy(['--config', join(root, 'dir.yaml')]);
    expect(directory.exitCode).toBe(2);
    expect(errorText(directory)).toBe(`error: invalid configuration in ${join(root, 'dir.yaml')}:\n  - cannot read it: it is a directory, not a file`);
  });

  it('unreadable by the user running pulldeploy', async () => {
    const file = join(open, `secret-${cases}.yaml`);
    await writeFile(file, 'bucket: b\n');
    await chmod(file, 0o600);
    const result = await runAsNobody(['myapp', 'testing', '--root', join(open, 'nowhere'), '--config', file]);

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(`error: invalid configuration in ${file}:\n  - cannot read it: permission denied`);
  });
});

describe('a bad environment', () => {
  it('no salt-call on the PATH: exit 1 at the apply step with the fix, links restored, current untouched', async () => {
    const result = await deploy([], { PULLDEPLOY_APPLY_COMMAND: 'salt-call --local --retcode-passthrough state.highstate', PATH: '/usr/bin:/bin' });

    expect(result.exitCode).toBe(1);
    expect(errorText(result)).toContain('error: step apply failed: apply command "salt-call --local --retcode-passthrough state.highstate" failed with exit code 127');
    expect(errorText(result)).toContain(
      'exit code 127 means the shell could not find "salt-call" (PATH=/usr/bin:/bin): install salt (it provides salt-call), or set apply.command',
    );
    expect(existsSync(join(root, 'srv/myapp/current'))).toBe(false);
    expect(existsSync(join(root, 'srv/myapp/next'))).toBe(false);
    const state = JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));
    expect(state.last_run).toMatchObject({ outcome: 'failed', failed_step: 'apply', exit_code: 1 });
  });

  it('a root on a read-only file system: exit 2 saying so, instead of an internal error', async () => {
    const disk = await mountTmpfs(root, { size: 1024 * 1024, readOnly: true });
    try {
      const result = await deploy();

      expect(result.exitCode).toBe(2);
      expect(errorText(result)).toBe(
        `error: step lock failed: cannot access ${root}/var: the file system is read-only (EROFS): pulldeploy must run as root, with --root on a writable file system`,
      );
    } finally {
      await disk.unmount();
    }
  });

  it('a root this user may not write (not run as root): exit 2 saying so', async () => {
    const notMine = join(open, `root-${cases}`);
    await mkdir(notMine, { mode: 0o755 });
    const result = await runAsNobody(['myapp', 'testing', '--root', notMine]);

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(
      `error: step lock failed: cannot access ${notMine}/var: permission denied (EACCES): pulldeploy must run as root, with --root on a writable file system`,
    );
    expect(await listTree(notMine)).toEqual([]);
  });

  it('a root that is a file: exit 2 saying so', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a directory');
    const result = await runCli(['myapp', 'testing', '--root', file], world.env);

    expect(result.exitCode).toBe(2);
    expect(errorText(result)).toBe(
      `error: invalid configuration in ${file}/etc/pulldeploy/config.yaml:\n  - cannot read it: a part of its path is not a directory`,
    );
    expect(await readFile(file, 'utf8')).toBe('not a directory');
  });

  it('a state file that is not JSON: exit 2 with the way out, the file left for a person to look at', async () => {
    await mkdir(join(root, 'var/lib/pulldeploy'), { recursive: true });
    await writeFile(join(root, 'var/lib/pulldeploy/state.json'), '{"format": 1, "hist');
    const result = await deploy();
    const state = join(root, 'var/lib/pulldeploy/state.json');

    expect(result.exitCode).toBe(2);
    expect(lastLine(result)).toMatch(
      new RegExp(`^error: state file ${state} cannot be used: it is not valid JSON \\(.*\\)\\. Move it aside \\(mv ${state} ${state}\\.bad\\) and run again`),
    );
    expect(await readFile(state, 'utf8')).toBe('{"format": 1, "hist');
    expect(existsSync(join(root, 'var/lib/pulldeploy/lock'))).toBe(false);
  });

  it('a service name that cannot be a directory: exit 2', async () => {
    const result = await runCli(['../etc', 'testing', '--root', root], world.env);

    expect(result.exitCode).toBe(2);
    expect(lastLine(result)).toBe(
      'error: step identify failed: service "../etc" must be words of letters and digits joined by single dashes, e.g. myapp',
    );
    expect(existsSync(join(root, 'srv'))).toBe(false);
    expect(await readlink(join(root, 'srv/service')).catch(() => 'none')).toBe('none');
  });
});

/**
 * The single binary, copied where the unprivileged user can run it: the checkout may sit below a directory
 * only root can enter (a mktemp -d), and the JS build needs the checkout's node_modules.
 */
async function binaryForNobody(): Promise<string> {
  const built = resolvePath(process.env.PULLDEPLOY_TEST_BIN ?? join(import.meta.dirname, '..', '..', 'dist', 'pulldeploy-linux-x64'));
  if (!existsSync(built)) throw new Error(`${built} is missing: run "npm run build" first (npm test does)`);
  const dir = await mkdtemp(join(tmpdir(), 'pulldeploy-nobody-'));
  await chmod(dir, 0o755);
  const copy = join(dir, 'pulldeploy');
  await copyFile(built, copy);
  await chmod(copy, 0o755);
  return copy;
}

/** Runs the CLI as the unprivileged user, with only what it needs in its environment. */
async function runAsNobody(args: string[]): Promise<CliResult> {
  const program = await binaryForNobody();
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      uid: nobody,
      gid: nobody,
      cwd: '/',
      env: { ...world.env, HOME: '/', PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exitCode) => {
      void rm(dirname(program), { recursive: true, force: true });
      resolve({ exitCode, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}
