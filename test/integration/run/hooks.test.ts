// runHooks against real hook scripts: run-parts order, skips, streamed output, environment, failures.
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StepError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { buildHookEnvironment } from '../../../src/run/hook-env.js';
import { HookFailedError, runHooks, type RunHooksOptions } from '../../../src/run/hooks.js';
import { childPids, makeTempDir, removeTempDirs, writeScript } from './scripts.js';
import { sampleGrains } from '../../helpers/grains.js';
import { killQuietly } from '../../helpers/processes.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const leftovers: number[] = [];

afterEach(async () => {
  leftovers.splice(0).forEach(killQuietly);
  await removeTempDirs();
});

async function makeRelease() {
  const release = await makeTempDir();
  const dir = join(release, 'hooks', 'pre-release');
  await mkdir(dir, { recursive: true });
  const logger = createMemoryLogger();
  const options: RunHooksOptions = {
    dir,
    phase: 'pre-release',
    env,
    cwd: release,
    timeoutMs: 10_000,
    killGraceMs: 500,
    logger,
  };
  return { release, dir, logger, options };
}

function messages(logger: ReturnType<typeof createMemoryLogger>, level: string): string[] {
  return logger.lines.filter((line) => line.level === level).map((line) => line.message);
}

async function catchError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('runHooks', () => {
  it('runs executables in byte order, ignoring dot files and directories, warning about non-executables', async () => {
    const { release, dir, logger, options } = await makeRelease();
    const append = (name: string) => `echo ${name} >> "${release}/ran"`;
    for (const name of ['20-second', '10-first', 'a-lower', 'B-upper', '.hidden']) await writeScript(dir, name, append(name));
    await writeScript(dir, '15-not-executable', append('15-not-executable'), 0o644);
    await mkdir(join(dir, '12-a-directory'));

    const records = await runHooks(options);

    expect(records.map((record) => record.name)).toEqual(['10-first', '20-second', 'B-upper', 'a-lower']);
    expect((await readFile(join(release, 'ran'), 'utf8')).trim().split('\n')).toEqual(records.map((r) => r.name));
    expect(records.every((record) => record.phase === 'pre-release' && record.exitCode === 0)).toBe(true);
    expect(messages(logger, 'warn')).toEqual([
      `skipping hook pre-release/15-not-executable: ${dir}/15-not-executable is not executable (chmod +x it to run it)`,
    ]);
    expect(messages(logger, 'info')).toHaveLength(4);
    expect(messages(logger, 'info')[0]).toMatch(/^hook pre-release\/10-first ok in \d+(\.\d)?m?s$/);
  });

  it('runs a hook through a symlink, and warns about a dangling one', async () => {
    const { release, dir, logger, options } = await makeRelease();
    const target = await writeScript(release, 'real-hook', `echo linked`);
    await symlink(target, join(dir, '10-linked'));
    await symlink(join(release, 'nowhere'), join(dir, '20-dangling'));

    const records = await runHooks(options);

    expect(records.map((record) => record.name)).toEqual(['10-linked']);
    expect(messages(logger, 'warn')).toEqual([
      `skipping hook pre-release/20-dangling: ${dir}/20-dangling cannot be read (a dangling link?)`,
    ]);
  });

  it('streams output to verbose with the hook prefix and runs in the release directory', async () => {
    const { release, dir, logger, options } = await makeRelease();
    await writeScript(dir, '10-migrate', 'pwd; echo "to stderr" >&2');

    const [record] = await runHooks(options);

    expect(messages(logger, 'verbose').sort()).toEqual([`[pre-release/10-migrate] ${release}`, '[pre-release/10-migrate] to stderr']);
    expect(record?.outputTail).toContain(release);
  });

  it('does nothing when the phase has no hooks directory', async () => {
    const { options, logger, release } = await makeRelease();
    const missing = join(release, 'hooks', 'post-release');
    expect(await runHooks({ ...options, dir: missing, phase: 'post-release' })).toEqual([]);
    expect(messages(logger, 'debug')).toEqual([`no post-release hooks: ${missing} does not exist`]);
  });

  it('reports a hooks path that is not a directory', async () => {
    const { options, release } = await makeRelease();
    const file = join(release, 'hooks', 'post-release');
    await writeFile(file, 'not a directory');
    const error = await catchError(runHooks({ ...options, dir: file, phase: 'post-release' }));
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toMatch(`cannot read the post-release hooks directory ${file}: ENOTDIR`);
  });

  it('stops at the first failure with a message naming the hook, its exit code and its last output', async () => {
    const { release, dir, logger, options } = await makeRelease();
    await writeScript(dir, '10-ok', 'echo fine');
    await writeScript(dir, '20-migrate', 'echo "applying 0042"; echo "relation users does not exist" >&2; exit 7');
    await writeScript(dir, '30-never', `touch "${release}/never-ran"`);

    const error = await catchError(runHooks(options));

    expect(error).toBeInstanceOf(HookFailedError);
    expect(error).toBeInstanceOf(StepError);
    const failure = error as HookFailedError;
    expect(failure.exitCode).toBe(1);
    expect(failure.message.split('\n')[0]).toBe('hook pre-release/20-migrate failed with exit code 7');
    expect(failure.message).toContain('  applying 0042');
    expect(failure.message).toContain('  relation users does not exist');
    expect(failure.hooks.map((hook) => [hook.name, hook.exitCode])).toEqual([
      ['10-ok', 0],
      ['20-migrate', 7],
    ]);
    expect(existsSync(join(release, 'never-ran'))).toBe(false);
    expect(messages(logger, 'info')[1]).toMatch(/^hook pre-release\/20-migrate failed in /);
  });

  it('kills a hook that runs over its timeout and says so', async () => {
    const { dir, options } = await makeRelease();
    await writeScript(dir, '10-slow', 'echo starting; sleep 30');

    const error = await catchError(runHooks({ ...options, timeoutMs: 300 }));

    expect((error as HookFailedError).message).toBe(
      'hook pre-release/10-slow timed out after 300ms and was killed with its process group\nlast output:\n  starting',
    );
    expect((error as HookFailedError).hooks[0]?.timedOut).toBe(true);
  });

  it('warns about a hook that leaves a background process holding its output, and carries on', async () => {
    const { dir, logger, options } = await makeRelease();
    await writeScript(dir, '10-daemon', 'sleep 300 & echo "child $!"');
    await writeScript(dir, '20-next', 'echo next');

    const records = await runHooks({ ...options, backgroundGraceMs: 200 });
    leftovers.push(...childPids(messages(logger, 'verbose').map((line) => line.replace('[pre-release/10-daemon] ', ''))));

    expect(leftovers).toHaveLength(1);
    expect(records.map((record) => [record.name, record.leftBackground])).toEqual([
      ['10-daemon', true],
      ['20-next', false],
    ]);
    expect(messages(logger, 'warn')[0]).toMatch(/^hook pre-release\/10-daemon left a background process holding its output/);
  });

  it('gives hooks the grains and deploy variables but none of the agent\'s credentials', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAHOOKTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-access-key-value');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token-value');
    vi.stubEnv('DEPLOY_DB_PASSWORD', 'db-password-value');
    vi.stubEnv('NODE_OPTIONS', '--require /tmp/injected.js');
    const { release, dir, logger, options } = await makeRelease();
    const hookEnv = buildHookEnvironment({
      base: process.env,
      grains: sampleGrains,
      version: '2.0.0',
      previousVersion: undefined,
      releaseDir: release,
      phase: 'pre-release',
      root: '/',
    });
    await writeScript(dir, '10-env', 'env');

    await runHooks({ ...options, env: hookEnv });

    const printed = messages(logger, 'verbose').map((line) => line.replace('[pre-release/10-env] ', ''));
    expect(printed).toEqual(
      expect.arrayContaining([
        'PULLDEPLOY_SERVICE_NAME=myapp',
        'PULLDEPLOY_CLUSTER_NAME=myapp-testing-useast1',
        'PULLDEPLOY_VERSION=2.0.0',
        'PULLDEPLOY_PREVIOUS_VERSION=',
        `PULLDEPLOY_RELEASE_DIR=${release}`,
        'PULLDEPLOY_PHASE=pre-release',
      ]),
    );
    const everything = printed.join('\n');
    for (const secret of ['AKIAHOOKTEST', 'secret-access-key-value', 'session-token-value', 'db-password-value', 'injected']) {
      expect(everything).not.toContain(secret);
    }
  });
});
