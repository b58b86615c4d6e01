// The agent's S3 store: pointers and releases with a light signed GET when the credentials allow it, the AWS SDK otherwise.
import { currentCredentialSource, type StaticCredentials } from '../aws/credential-source.js';
import { readInstanceProfileCredentials } from '../aws/instance-profile-credentials.js';
import { s3ObjectUrls } from '../aws/s3-object-url.js';
import { createSignedGet } from '../aws/signed-get.js';
import { userAgentOf } from '../aws/user-agent.js';
import { describeError } from '../errors.js';
import type { MetadataClient } from '../identity/metadata.js';
import type { Logger } from '../log/logger.js';
import { createLightS3Store } from './light-s3-store.js';
import { s3Url } from './pointer.js';
import type { ArtifactStore } from './store.js';

export interface AgentS3StoreOptions {
  bucket: string;
  region: string;
  logger: Logger;
  /** The AWS environment the SDK would read: credentials and endpoints. */
  env: NodeJS.ProcessEnv;
  /** For the instance profile's credentials. */
  metadata: Pick<MetadataClient, 'read'>;
}

/**
 * Loading and building the SDK's S3 client costs several times Node's own start-up and about 9 MB of memory, which
 * a timer's check would pay for two 304s and every deploy for two GETs: so both are signed here, and the SDK is
 * loaded only when the credentials come from a source only its provider chain knows (src/aws/credential-source.ts).
 */
export function createAgentS3Store(options: AgentS3StoreOptions): ArtifactStore {
  const { bucket, region, logger } = options;
  let reads: ArtifactStore | Promise<ArtifactStore> | undefined;

  const chooseReads = (): ArtifactStore | Promise<ArtifactStore> => {
    const source = currentCredentialSource(options.env);
    const objectUrl = s3ObjectUrls(bucket, region, options.env);
    if (source.kind === 'sdk' || objectUrl === undefined) {
      logger.debug(`reading S3 through the AWS SDK: ${source.kind === 'sdk' ? source.reason : 'its settings choose the S3 endpoint'}`);
      return import('./s3-store.js').then(({ createS3Store }) => createS3Store({ bucket, region }));
    }
    let credentials: Promise<StaticCredentials> | undefined;
    const get = createSignedGet({
      region,
      service: 's3',
      userAgent: userAgentOf(options.env),
      credentials: () =>
        source.kind === 'environment'
          ? Promise.resolve(source.credentials)
          : (credentials ??= readInstanceProfileCredentials(options.metadata).catch((error: unknown) => {
              credentials = undefined;
              throw new Error(`no credentials from the EC2 instance profile: ${describeError(error)}`, { cause: error });
            })),
    });
    return createLightS3Store({ bucket, objectUrl, get });
  };

  return {
    bucket,
    url: (key) => s3Url(bucket, key),
    async readPointer(key, etag) {
      logger.debug(`reading pointer ${s3Url(bucket, key)}${etag !== undefined ? ` unless its ETag is still ${etag}` : ''}`);
      return (await (reads ??= chooseReads())).readPointer(key, etag);
    },
    async openRelease(key, range) {
      logger.debug(`opening release ${s3Url(bucket, key)}${range !== undefined ? ` from byte ${range.start}` : ''}`);
      return (await (reads ??= chooseReads())).openRelease(key, range);
    },
  };
}
