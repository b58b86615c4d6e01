// The bench's world: moto_server with a bucket, releases published and promoted by the S3 contract, an IMDSv2 endpoint, and the agent's environment.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMetadataServer } from '../../scripts/servers/metadata-server.mjs';
import { startMotoServer } from './moto-server.mjs';

export const bucket = 'pulldeploy-bench';
export const instanceId = 'i-0abc898900';

/**
 * @typedef {object} World
 * @property {string} s3Url moto, direct
 * @property {string} metadataUrl
 * @property {(service: string, version: string, file: string) => Promise<void>} publish uploads a release; readable without credentials so curl can fetch it
 * @property {(service: string, version: string, sha256: string) => Promise<void>} promote writes `deploy/<service>/testing/current`
 * @property {(key: string) => string} objectUrl plain (unsigned) URL of an object, for curl
 * @property {(endpoint: string, extra?: Record<string, string>) => Record<string, string>} agentEnv the agent's whole environment
 * @property {() => Promise<void>} stop
 */

/** @returns {Promise<World>} */
export async function startWorld() {
  const moto = await startMotoServer();
  const metadata = await startMetadataServer({ instanceId, region: 'us-east-1', asgName: 'myapp-testing-useast1' });
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: moto.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // A file stream goes up as one plain PUT, not aws-chunked.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = async (key, body, length, acl) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: length, ...(acl ? { ACL: acl } : {}) }));

  return {
    s3Url: moto.url,
    metadataUrl: metadata.url,
    async publish(service, version, file) {
      const { size } = await stat(file);
      // public-read: the curl baseline fetches it unsigned (moto answers 403 otherwise); the agent still signs.
      await put(`deploy/${service}/releases/${version}.tar.gz`, createReadStream(file), size, 'public-read');
    },
    async promote(service, version, sha256) {
      const body = Buffer.from(JSON.stringify({ version, sha256 }));
      await put(`deploy/${service}/testing/current`, body, body.length);
    },
    objectUrl: (key) => `${moto.url}/${bucket}/${key}`,
    agentEnv(endpoint, extra = {}) {
      return {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL: endpoint,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
        PULLDEPLOY_BUCKET: bucket,
        PULLDEPLOY_APPLY_COMMAND: 'none',
        PULLDEPLOY_LB_REGISTER: 'false',
        ...extra,
      };
    },
    async stop() {
      client.destroy();
      await metadata.stop();
      await moto.stop();
    },
  };
}
