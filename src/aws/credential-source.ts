// Which credentials a light S3 read may use by itself, and when only the AWS SDK's full provider chain will do.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialSource =
  | { kind: 'environment'; credentials: StaticCredentials }
  | { kind: 'instance-profile' }
  | { kind: 'sdk'; reason: string };

/** Variables that send the SDK's chain to a profile, SSO, web identity or a container endpoint, or keep it off IMDS. */
const sdkOnlyVariables = [
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_EC2_METADATA_DISABLED',
];

/**
 * Cheap and certain only: the SDK's chain takes static keys from the environment first (unless AWS_PROFILE is set)
 * and ends at the instance profile, so a light read uses the environment's keys, or the instance profile when no
 * variable or ~/.aws file could name another source; every other case is the SDK's, whose chain decides.
 */
export function chooseCredentialSource(env: NodeJS.ProcessEnv, fileExists: (path: string) => boolean, home: string): CredentialSource {
  if (env.AWS_PROFILE) return { kind: 'sdk', reason: 'AWS_PROFILE is set' };
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (accessKeyId && secretAccessKey) {
    return { kind: 'environment', credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } };
  }
  const variable = sdkOnlyVariables.find((name) => env[name]);
  if (variable !== undefined) return { kind: 'sdk', reason: `${variable} is set` };
  if (accessKeyId || secretAccessKey) return { kind: 'sdk', reason: 'only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set' };
  const file = [join(home, '.aws', 'credentials'), join(home, '.aws', 'config')].find(fileExists);
  if (file !== undefined) return { kind: 'sdk', reason: `${file} exists` };
  return { kind: 'instance-profile' };
}

/** The choice for this process: its environment and the home directory's ~/.aws. */
export function currentCredentialSource(env: NodeJS.ProcessEnv): CredentialSource {
  return chooseCredentialSource(env, existsSync, homedir());
}
