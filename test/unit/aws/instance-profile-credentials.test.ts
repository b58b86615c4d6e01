// The instance profile's keys from the metadata documents, and what is said when they are missing or unusable.
import { describe, expect, it } from 'vitest';
import { readInstanceProfileCredentials } from '../../../src/aws/instance-profile-credentials.js';
import { failure } from '../../helpers/failure.js';

const base = '/latest/meta-data/iam/security-credentials/';

function metadata(answers: Record<string, string>) {
  return {
    read: async (path: string) => {
      const answer = answers[path];
      if (answer === undefined) throw new Error(`HTTP 404 for ${path}`);
      return answer;
    },
  };
}

describe('instance profile credentials', () => {
  it('reads the role, then its keys and session token', async () => {
    const document = JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIA1', SecretAccessKey: 'secret', Token: 'token', Expiration: '2026-11-22T12:00:00Z' });
    expect(await readInstanceProfileCredentials(metadata({ [base]: 'fleet-agent\n', [`${base}fleet-agent`]: document }))).toEqual({
      accessKeyId: 'ASIA1',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it('says which role holds no usable keys', async () => {
    const document = JSON.stringify({ Code: 'AssumeRoleUnauthorizedAccess' });
    const error = await failure(readInstanceProfileCredentials(metadata({ [base]: 'fleet-agent', [`${base}fleet-agent`]: document })));
    expect(error.message).toBe('instance metadata holds no usable credentials for role "fleet-agent" (AssumeRoleUnauthorizedAccess)');
  });

  it('says when the role document is not JSON', async () => {
    const error = await failure(readInstanceProfileCredentials(metadata({ [base]: 'fleet-agent', [`${base}fleet-agent`]: '<html>' })));
    expect(error.message).toBe('the credentials of instance profile role "fleet-agent" are not JSON');
  });

  it('says when no role is attached', async () => {
    const error = await failure(readInstanceProfileCredentials(metadata({ [base]: '' })));
    expect(error.message).toBe('the instance has no IAM instance profile (attach one with s3:GetObject on the bucket)');
  });
});
