// The EC2 instance profile's temporary credentials, read from instance metadata (IMDSv2) as the SDK's last provider does.
import type { MetadataClient } from '../identity/metadata.js';
import type { StaticCredentials } from './credential-source.js';

const credentialsPath = '/latest/meta-data/iam/security-credentials/';

/** The role attached to the instance, then its current keys; an Error saying which part is missing otherwise. */
export async function readInstanceProfileCredentials(metadata: Pick<MetadataClient, 'read'>): Promise<StaticCredentials> {
  const role = (await metadata.read(credentialsPath)).split('\n')[0]?.trim();
  if (!role) throw new Error('the instance has no IAM instance profile (attach one with s3:GetObject on the bucket)');
  const text = await metadata.read(credentialsPath + encodeURIComponent(role));
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error(`the credentials of instance profile role "${role}" are not JSON`);
  }
  const field = (name: string): string | undefined => {
    const value: unknown = typeof document === 'object' && document !== null ? Reflect.get(document, name) : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const code = field('Code');
  const accessKeyId = field('AccessKeyId');
  const secretAccessKey = field('SecretAccessKey');
  if ((code !== undefined && code !== 'Success') || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new Error(`instance metadata holds no usable credentials for role "${role}"${code !== undefined && code !== 'Success' ? ` (${code})` : ''}`);
  }
  const sessionToken = field('Token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
