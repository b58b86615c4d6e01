// Before a pointer names a release: it must exist, and its sha256 must be known and agree with the bytes and with what CI expects.
import { releaseKey } from '../artifacts/pointer.js';
import { ArtifactError } from '../errors.js';
import type { PublisherContext } from './publisher-context.js';
import type { VerifiedRelease } from './promote-plan.js';
import { hashStoredRelease, headRelease } from './stored-release.js';

export interface VerifyOptions {
  /** The sha256 CI expects (from pack or publish), if it said. */
  expectedSha256: string | undefined;
  /** Hash the stored bytes even when a digest was recorded at publish. */
  stream: boolean;
}

const sources = { checksum: "S3's SHA-256 checksum", metadata: 'x-amz-meta-sha256' } as const;

export async function verifyRelease(context: PublisherContext, service: string, version: string, options: VerifyOptions): Promise<VerifiedRelease> {
  const { s3, bucket, logger } = context;
  const key = releaseKey(context.prefix, service, version);
  const stored = await headRelease(s3, bucket, key);
  if (stored === undefined) {
    throw new ArtifactError(
      `release ${`s3://${bucket}/${key}`} not found: publish it first with "pulldeploy publish ${service} FILE --version ${version}"`,
    );
  }
  let sha256 = stored.sha256;
  if (sha256 === undefined || options.stream) {
    logger.info(`hashing ${stored.url} (${stored.size} bytes)${sha256 === undefined ? ': no sha256 was recorded at publish' : ''}`);
    const hashed = await hashStoredRelease(s3, bucket, key, stored.etag);
    if (sha256 !== undefined && hashed !== sha256) {
      throw new ArtifactError(
        `release ${stored.url} does not match the sha256 recorded at publish (${sources[stored.digestSource ?? 'metadata']}): ` +
          `recorded ${sha256}, its bytes hash to ${hashed}; it changed after publishing: publish the build again under a new version`,
      );
    }
    sha256 = hashed;
  } else {
    logger.verbose(`${stored.url}: sha256 ${sha256} from ${sources[stored.digestSource ?? 'metadata']}`);
  }
  if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256) {
    throw new ArtifactError(
      `release ${stored.url} has sha256 ${sha256}, not ${options.expectedSha256} as given with --sha256: ` +
        'it is not the build you meant to promote; check the version',
    );
  }
  return { version, sha256, size: stored.size };
}
