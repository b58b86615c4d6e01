// buildHookEnvironment: grains and PULLDEPLOY_* in, credentials and NODE_OPTIONS out.
import { describe, expect, it } from 'vitest';
import { buildHookEnvironment, grainVariableName, isWithheldVariable } from '../../../src/run/hook-env.js';
import { sampleGrains } from '../../helpers/grains.js';

const input = {
  grains: sampleGrains,
  version: '20261122.1-3f2a9c1',
  previousVersion: '20261121.4-aaaaaaa',
  releaseDir: '/srv/myapp/releases/20261122.1-3f2a9c1',
  phase: 'pre-release' as const,
  root: '/',
};

describe('buildHookEnvironment', () => {
  it('adds every grain and the PULLDEPLOY_* deploy variables', () => {
    const env = buildHookEnvironment({ ...input, base: { PATH: '/usr/bin', LANG: 'C.UTF-8' } });
    expect(env).toEqual({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      PULLDEPLOY_SERVICE_NAME: 'myapp',
      PULLDEPLOY_SERVICE_INSTANCE: 'testing',
      PULLDEPLOY_REGION: 'useast1',
      PULLDEPLOY_AWS_REGION: 'us-east-1',
      PULLDEPLOY_INSTANCE_ID: 'i-0abc898900',
      PULLDEPLOY_SERVICE_NODE: '0abc898900',
      PULLDEPLOY_CLUSTER_NAME: 'myapp-testing-useast1',
      PULLDEPLOY_SERVICE_GROUP: 'myapp-testing',
      PULLDEPLOY_HOSTNAME: 'myapp-testing-useast1-0abc898900.example.com',
      PULLDEPLOY_VERSION: '20261122.1-3f2a9c1',
      PULLDEPLOY_PREVIOUS_VERSION: '20261121.4-aaaaaaa',
      PULLDEPLOY_RELEASE_DIR: '/srv/myapp/releases/20261122.1-3f2a9c1',
      PULLDEPLOY_PHASE: 'pre-release',
      PULLDEPLOY_ROOT: '/',
    });
  });

  it('drops credentials, anything named like one, and NODE_OPTIONS, without touching the base', () => {
    const base = {
      PATH: '/usr/bin',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: 'default',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 's3cr3t',
      AWS_SESSION_TOKEN: 'tok',
      AWS_SECURITY_TOKEN: 'tok',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token',
      GITHUB_TOKEN: 'ghp',
      DB_PASSWORD: 'pw',
      my_secret_key: 'lower',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      NODE_OPTIONS: '--require /tmp/evil.js',
    };
    const copy = { ...base };
    const env = buildHookEnvironment({ ...input, base });
    expect(Object.keys(env).filter((name) => !name.startsWith('PULLDEPLOY_'))).toEqual(['PATH', 'AWS_REGION', 'AWS_PROFILE']);
    expect(base).toEqual(copy);
  });

  it('never passes on the agent\'s own PULLDEPLOY_* variables', () => {
    const env = buildHookEnvironment({
      ...input,
      base: { PATH: '/usr/bin', PULLDEPLOY_CONFIG: '/etc/x.yaml', PULLDEPLOY_REGION: 'elsewhere' },
    });
    expect(env.PULLDEPLOY_CONFIG).toBeUndefined();
    expect(env.PULLDEPLOY_REGION).toBe('useast1');
  });

  it('gives an empty previous version on a first deploy and a default PATH when there is none', () => {
    const env = buildHookEnvironment({ ...input, previousVersion: undefined, phase: 'apply', base: {} });
    expect(env.PULLDEPLOY_PREVIOUS_VERSION).toBe('');
    expect(env.PULLDEPLOY_PHASE).toBe('apply');
    expect(env.PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('adds extra variables last, as given', () => {
    const env = buildHookEnvironment({
      ...input,
      base: { PATH: '/usr/bin' },
      extra: { APP_MODE: 'canary', PULLDEPLOY_VERSION: 'overridden', API_TOKEN: 'chosen on purpose' },
    });
    expect(env).toMatchObject({ APP_MODE: 'canary', PULLDEPLOY_VERSION: 'overridden', API_TOKEN: 'chosen on purpose' });
  });
});

describe('isWithheldVariable', () => {
  it.each(['AWS_ACCESS_KEY_ID', 'aws_secret_access_key', 'NPM_TOKEN', 'MYSQL_PASSWORD', 'NODE_OPTIONS'])('withholds %s', (name) => {
    expect(isWithheldVariable(name)).toBe(true);
  });

  it.each(['PATH', 'HOME', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'NODE_ENV'])('keeps %s', (name) => {
    expect(isWithheldVariable(name)).toBe(false);
  });
});

describe('grainVariableName', () => {
  it('upper-cases the grain and replaces characters a variable name cannot hold', () => {
    expect(grainVariableName('service_name')).toBe('PULLDEPLOY_SERVICE_NAME');
    expect(grainVariableName('custom.grain-x')).toBe('PULLDEPLOY_CUSTOM_GRAIN_X');
  });
});
