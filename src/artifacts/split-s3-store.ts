// The agent's S3 store: pointers with a light signed GET when the credentials allow it, releases through the AWS SDK.
import { currentCredentialSource, type StaticCredentials } from '../aws/credential-source.js';
import { readInstanceProfileCredentials } from '../aws/instance-profile-credentials.js';
import { s3ObjectUrls } from '../aws/s3-object-url.js';
import { createSignedGet } from '../aws/signed-get.js';
import { userAgentOf } from '../aws/user-agent.js';
import { describeError } from '../errors.js';
import type { MetadataClient } from '../identity/metadata.js';
import type { Logger } from '../log/logger.js';
import { createLightPointerReader, type ReadPointer } from './light-s3-pointer-reader.js';
import { s3Url } from './pointer.js';
import type { ArtifactStore } from './store.js';


export interface SplitS3StoreOptions {
  bucket: string;
  region: string;
  logger: Logger;
  /** The AWS environment the SDK would read: credentials and endpoints. */
  env: NodeJS.ProcessEnv;
  /** For the instance profile's credentials. */
  metadata: Pick<MetadataClient, 'read'>;
}

/**
 * Loading and building the SDK's S3 client costs several times Node's own start-up, which a timer's check that finds
 * nothing moved would pay for two 304s: so pointers are read here and the SDK is loaded only for a release, or for
 * pointers when the credentials come from a source only its provider chain knows (src/aws/credential-source.ts).
 */
export function createSplitS3Store(options: SplitS3StoreOptions): ArtifactStore {
  const { bucket, region, logger } = options;
  let sdkStore: Promise<ArtifactStore> | undefined;
  let pointerReader: ReadPointer | undefined;

  const sdk = () =>
    (sdkStore ??= import('./s3-store.js').then(({ createS3Store }) => createS3Store({ bucket, region, logger })));

  const choosePointerReader = (): ReadPointer => {
    const source = currentCredentialSource(options.env);
    const objectUrl = s3ObjectUrls(bucket, region, options.env);
    if (source.kind === 'sdk' || objectUrl === undefined) {
      logger.debug(`reading pointers through the AWS SDK: ${source.kind === 'sdk' ? source.reason : 'its settings choose the S3 endpoint'}`);
      return async (key, etag) => (await sdk()).readPointer(key, etag);
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
    return createLightPointerReader({ bucket, objectUrl, get });
  };

  return {
    bucket,
    url: (key) => s3Url(bucket, key),
    readPointer(key, etag) {
      logger.debug(`reading pointer ${s3Url(bucket, key)}${etag !== undefined ? ` unless its ETag is still ${etag}` : ''}`);
      pointerReader ??= choosePointerReader();
      return pointerReader(key, etag);
    },
    async openRelease(key, range) {
      return (await sdk()).openRelease(key, range);
    },
  };
}
