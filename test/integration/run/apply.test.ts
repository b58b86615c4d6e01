// The apply step: salt configuration files written under --root, and apply.command run through /bin/sh.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { StepError } from '../../../src/errors.js';
import type { Grains } from '../../../src/identity/grains.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { ApplyFailedError, runApply, writeSaltConfig, type RunApplyOptions } from '../../../src/run/apply.js';
import { makeTempDir, removeTempDirs } from './scripts.js';

afterEach(removeTempDirs);

const grains: Grains = {
  service_name: 'myapp',
  // Both would not stay strings if written unquoted for salt's YAML 1.1 reader.
  service_instance: 'on',
  region: 'useast1',
  aws_region: 'us-east-1',
  instance_id: 'i-0123456789',
  service_node: '0123456789',
  cluster_name: 'myapp-on-useast1',
  service_group: 'myapp-on',
  hostname: 'myapp-on-useast1-0123456789',
};

describe('writeSaltConfig', () => {
  it('writes the grains and a local minion configuration with absolute roots under --root', async () => {
    const root = await makeTempDir();

    const files = await writeSaltConfig({ root, grains });

    expect(files).toEqual({
      grainsFile: join(root, 'etc/salt/grains'),
      minionConfFile: join(root, 'etc/salt/minion.d/pulldeploy.conf'),
    });
    const grainsText = await readFile(files.grainsFile, 'utf8');
    expect(parse(grainsText, { version: '1.1' })).toEqual(grains);
    const minionText = await readFile(files.minionConfFile, 'utf8');
    expect(minionText).toMatch(/^failhard: true$/m);
    const minion = parse(minionText, { version: '1.1' }) as Record<string, unknown>;
    expect(minion).toEqual({
      file_client: 'local',
      failhard: true,
      file_roots: {
        base: [join(root, 'srv/service/next/salt/config/states'), join(root, 'srv/base/current/states')],
      },
      pillar_roots: {
        base: [join(root, 'srv/service/next/salt/config/pillar'), join(root, 'srv/base/current/pillar')],
      },
    });
  });

  it('makes a relative root absolute', async () => {
    const root = await makeTempDir();
    const relativeRoot = relative(process.cwd(), root);
    expect(isAbsolute(relativeRoot)).toBe(false);
    const files = await writeSaltConfig({ root: relativeRoot, grains });
    const minion = parse(await readFile(files.minionConfFile, 'utf8')) as { file_roots: { base: string[] } };
    expect(minion.file_roots.base.every((dir) => isAbsolute(dir) && dir.startsWith(root))).toBe(true);
  });

  it('replaces earlier files and leaves no temporary files behind', async () => {
    const root = await makeTempDir();
    const first = await writeSaltConfig({ root, grains });
    await writeSaltConfig({ root, grains: { ...grains, service_instance: 'production' } });
    expect(parse(await readFile(first.grainsFile, 'utf8'))).toMatchObject({ service_instance: 'production' });
    expect(await readdir(join(root, 'etc/salt'))).toEqual(['grains', 'minion.d']);
    expect(await readdir(join(root, 'etc/salt/minion.d'))).toEqual(['pulldeploy.conf']);
  });

  it('names the file it could not write', async () => {
    const root = await makeTempDir();
    await writeFile(join(root, 'etc'), 'a file where a directory belongs');
    const failure = writeSaltConfig({ root, grains });
    await expect(failure).rejects.toBeInstanceOf(StepError);
    await expect(failure).rejects.toThrow(
      `cannot write the salt configuration ${join(root, 'etc/salt/grains')}: ENOTDIR: not a directory, mkdir '${join(root, 'etc/salt')}'`,
    );
  });
});

describe('runApply', () => {
  function applyOptions(command: string, overrides: Partial<RunApplyOptions> = {}) {
    const logger = createMemoryLogger();
    const options: RunApplyOptions = {
      command,
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      timeoutMs: 10_000,
      killGraceMs: 200,
      logger,
      ...overrides,
    };
    return { logger, options };
  }

  async function catchApplyError(options: RunApplyOptions): Promise<ApplyFailedError> {
    try {
      await runApply(options);
    } catch (error) {
      if (error instanceof ApplyFailedError) return error;
      throw error;
    }
    throw new Error('expected the apply to fail');
  }

  it('skips the step when the command is none', async () => {
    const { logger, options } = applyOptions('none');
    expect(await runApply(options)).toEqual({ command: 'none', skipped: true });
    expect(logger.lines).toEqual([{ level: 'info', message: 'apply skipped: apply.command is "none"' }]);
  });

  it('runs the command through the shell, streaming output to verbose', async () => {
    const dir = await makeTempDir();
    const { logger, options } = applyOptions('echo "state ok: $PULLDEPLOY_PHASE"; pwd >&2', {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', PULLDEPLOY_PHASE: 'apply' },
    });

    const record = await runApply(options);

    expect(record).toMatchObject({ command: options.command, skipped: false, exitCode: 0, timedOut: false });
    const verbose = logger.lines.filter((line) => line.level === 'verbose').map((line) => line.message);
    expect(verbose).toEqual(expect.arrayContaining(['[apply] state ok: apply', `[apply] ${dir}`]));
    expect(logger.lines.filter((line) => line.level === 'info')).toEqual([]);
  });

  it('fails with the exit code and the last output when the command fails', async () => {
    const { options } = applyOptions('echo "ID: nginx Result: False"; exit 2');

    const error = await catchApplyError(options);

    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe(
      'apply command "echo "ID: nginx Result: False"; exit 2" failed with exit code 2\nlast output:\n  ID: nginx Result: False',
    );
    expect(error.apply).toMatchObject({ skipped: false, exitCode: 2 });
  });

  it('says when the program is not installed and how to fix it', async () => {
    const { options } = applyOptions('salt-call-not-installed --local --retcode-passthrough state.highstate');

    const error = await catchApplyError(options);

    const [headline, hint] = error.message.split('\n');
    expect(headline).toBe(
      'apply command "salt-call-not-installed --local --retcode-passthrough state.highstate" failed with exit code 127',
    );
    expect(hint).toBe(
      'exit code 127 means the shell could not find "salt-call-not-installed" (PATH=/usr/bin:/bin): ' +
        'install salt (it provides salt-call), or set apply.command in the configuration ("none" skips the apply step)',
    );
    expect(error.message).toMatch(/salt-call-not-installed: (command )?not found/);
  });

  it('kills a command that runs over its timeout', async () => {
    const { options } = applyOptions('sleep 30', { timeoutMs: 200 });
    const error = await catchApplyError(options);
    expect(error.message).toBe(
      'apply command "sleep 30" timed out after 200ms and was killed with its process group\nit printed nothing',
    );
    expect(error.apply).toMatchObject({ timedOut: true });
  });
});
