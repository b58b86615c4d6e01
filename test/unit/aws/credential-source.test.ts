// Which credentials a light pointer read uses by itself, and when it leaves the choice to the SDK's chain.
import { describe, expect, it } from 'vitest';
import { chooseCredentialSource } from '../../../src/aws/credential-source.js';

const home = '/home/agent';
const none = () => false;

describe('credential source of a light pointer read', () => {
  it('takes static keys, and a session token, from the environment', () => {
    expect(chooseCredentialSource({ AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'secret' }, none, home)).toEqual({
      kind: 'environment',
      credentials: { accessKeyId: 'AKIA1', secretAccessKey: 'secret' },
    });
    expect(
      chooseCredentialSource({ AWS_ACCESS_KEY_ID: 'ASIA1', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' }, none, home),
    ).toEqual({ kind: 'environment', credentials: { accessKeyId: 'ASIA1', secretAccessKey: 'secret', sessionToken: 'token' } });
  });

  it('prefers the environment keys to ~/.aws files and other variables, as the SDK chain does', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'secret', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/creds' };
    expect(chooseCredentialSource(env, () => true, home).kind).toBe('environment');
  });

  it('leaves AWS_PROFILE to the SDK, even beside environment keys (the SDK then skips them)', () => {
    expect(chooseCredentialSource({ AWS_PROFILE: 'ops', AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 's' }, none, home)).toEqual({
      kind: 'sdk',
      reason: 'AWS_PROFILE is set',
    });
  });

  it.each([
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_CONFIG_FILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_EC2_METADATA_DISABLED',
  ])('leaves the choice to the SDK when %s is set', (name) => {
    expect(chooseCredentialSource({ [name]: 'x' }, none, home)).toEqual({ kind: 'sdk', reason: `${name} is set` });
  });

  it('leaves half a key pair to the SDK', () => {
    expect(chooseCredentialSource({ AWS_ACCESS_KEY_ID: 'AKIA1' }, none, home).kind).toBe('sdk');
  });

  it.each(['credentials', 'config'])('leaves the choice to the SDK when ~/.aws/%s exists', (file) => {
    const exists = (path: string) => path === `${home}/.aws/${file}`;
    expect(chooseCredentialSource({}, exists, home)).toEqual({ kind: 'sdk', reason: `${home}/.aws/${file} exists` });
  });

  it('uses the instance profile when nothing could name another source', () => {
    const asked: string[] = [];
    const exists = (path: string) => {
      asked.push(path);
      return false;
    };
    expect(chooseCredentialSource({ AWS_REGION: 'us-east-1' }, exists, home)).toEqual({ kind: 'instance-profile' });
    expect(asked).toEqual([`${home}/.aws/credentials`, `${home}/.aws/config`]);
  });
});
