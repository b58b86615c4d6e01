// Configuration layering and validation: defaults < file < environment < flags; every problem named.
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { environmentName } from '../../../src/config/schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-config-'));
});

async function file(text: string, mode = 0o644) {
  const path = join(dir, 'config.yaml');
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

const load = (overrides: Partial<Parameters<typeof loadConfig>[0]> = {}) =>
  loadConfig({ defaultFile: join(dir, 'missing.yaml'), env: {}, flags: {}, ...overrides });

describe('loadConfig', () => {
  it('gives the defaults when there is no file', async () => {
    const { config, file: used } = await load();
    expect(used).toBeUndefined();
    expect(config.prefix).toBe('deploy');
    expect(config.keep_releases).toBe(5);
    expect(config.apply.command).toBe('salt-call --local --retcode-passthrough state.highstate');
    expect(config.lb.register).toBe(true);
  });

  it('layers file < environment < flags', async () => {
    const path = await file('bucket: from-file\nprefix: file-prefix\nkeep_releases: 2\nhooks:\n  timeout: 30\n');
    const { config } = await load({
      defaultFile: path,
      env: { PULLDEPLOY_PREFIX: 'env-prefix', PULLDEPLOY_HOOKS_TIMEOUT: '45', PULLDEPLOY_LB_REGISTER: 'false' },
      flags: { prefix: 'flag-prefix' },
    });
    expect(config.bucket).toBe('from-file');
    expect(config.prefix).toBe('flag-prefix');
    expect(config.keep_releases).toBe(2);
    expect(config.hooks.timeout).toBe(45);
    expect(config.hooks.kill_grace).toBe(10);
    expect(config.lb.register).toBe(false);
  });

  it('reports every problem at once, each naming its key', async () => {
    const path = await file('bucket: 3\nkeep_relases: 2\napply:\n  timeout: "long"\n  extra: 1\nlb: yes-please\n');
    const error = await load({ defaultFile: path, env: { PULLDEPLOY_FETCH_ATTEMPTS: 'many' } }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(2);
    expect(error.problems).toEqual([
      'bucket: expected a string, got integer 3',
      expect.stringContaining('keep_relases: unknown key'),
      'apply.timeout: expected an integer, got string "long"',
      expect.stringContaining('apply.extra: unknown key'),
      'lb: expected a mapping of keys',
      'PULLDEPLOY_FETCH_ATTEMPTS: expected an integer, got "many"',
    ]);
    expect(error.message).toContain(path);
  });

  it('refuses values below the minimum', async () => {
    const error = await load({ env: { PULLDEPLOY_HOOKS_TIMEOUT: '0' } }).catch((e) => e);
    expect(error.problems).toEqual(['hooks.timeout: must be at least 1, got 0']);
  });

  it('refuses a world-writable file: it decides what runs as root', async () => {
    const path = await file('bucket: b\n', 0o666);
    const error = await load({ defaultFile: path }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('world-writable');
    expect(error.message).toContain(`chmod o-w ${path}`);
  });

  it('requires a file named explicitly to exist', async () => {
    const error = await load({ explicitFile: join(dir, 'nope.yaml') }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('the file does not exist');
  });

  it('names invalid YAML', async () => {
    const path = await file('bucket: [unclosed\n');
    const error = await load({ defaultFile: path }).catch((e) => e);
    expect(error.message).toContain('not valid YAML');
  });

  it('maps dotted keys to environment names', () => {
    expect(environmentName('apply.command')).toBe('PULLDEPLOY_APPLY_COMMAND');
    expect(environmentName('keep_releases')).toBe('PULLDEPLOY_KEEP_RELEASES');
  });
});

describe('list keys', () => {
  it('reads verify_keys from YAML lists and comma-separated environment values', async () => {
    const path = await file('verify_keys:\n  - /etc/pulldeploy/ci.pub\n  - /etc/pulldeploy/ci-next.pub\n');
    expect((await load({ defaultFile: path })).config.verify_keys).toEqual(['/etc/pulldeploy/ci.pub', '/etc/pulldeploy/ci-next.pub']);
    const fromEnv = await load({ env: { PULLDEPLOY_VERIFY_KEYS: '/a.pub, /b.pub,' } });
    expect(fromEnv.config.verify_keys).toEqual(['/a.pub', '/b.pub']);
    expect((await load()).config.verify_keys).toEqual([]);
  });

  it('refuses a list holding something other than strings', async () => {
    const path = await file('verify_keys:\n  - 3\n');
    const error = await load({ defaultFile: path }).catch((e) => e);
    expect(error.problems).toEqual(['verify_keys: expected a list of strings, got a list']);
  });
});
