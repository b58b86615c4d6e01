// The agent's store: pointers and releases signed by itself with keys from the environment or the instance profile,
// through the SDK otherwise.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { startMetadataServer } from '../../../scripts/servers/metadata-server.mjs';
import { pointerKey, releaseKey } from '../../../src/artifacts/pointer.js';
import { createAgentS3Store } from '../../../src/artifacts/agent-s3-store.js';
import { AwsError, ExitCode } from '../../../src/errors.js';
import { createMetadataClient } from '../../../src/identity/metadata.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { failure } from '../../helpers/failure.js';
import { motoS3Client } from '../../helpers/moto-clients.js';

const bucket = `pulldeploy-split-${randomBytes(4).toString('hex')}`;
const key = pointerKey('deploy', 'myapp', 'testing');
const pointerText = JSON.stringify({ version: '1.0', sha256: 'cd'.repeat(32) });
const release = randomBytes(1000);
const credentialsPath = '/latest/meta-data/iam/security-credentials/';

let home: string;
let metadata: Awaited<ReturnType<typeof startMetadataServer>>;

beforeAll(async () => {
  const admin = motoS3Client();
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: pointerText }));
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', '1.0'), Body: release }));
  admin.destroy();
});

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'pulldeploy-split-store-'));
  // Nothing of the machine running the tests may choose the credentials.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv('HOME', home);
  vi.stubEnv('AWS_ENDPOINT_URL', inject('motoUrl'));
});

afterEach(async () => {
  await metadata?.stop();
  await rm(home, { recursive: true, force: true });
});

async function storeWithMetadata(instanceProfile?: Parameters<typeof startMetadataServer>[0]['instanceProfile']) {
  metadata = await startMetadataServer({ instanceId: 'i-0abc898900', region: 'us-east-1', ...(instanceProfile ? { instanceProfile } : {}) });
  const logger = createMemoryLogger();
  const store = createAgentS3Store({ bucket, region: 'us-east-1', logger, env: process.env, metadata: createMetadataClient({ endpoint: metadata.url }) });
  return { store, logger };
}

const debugLines = (logger: ReturnType<typeof createMemoryLogger>) =>
  logger.lines.filter((line) => line.level === 'debug').map((line) => line.message);

describe('agent S3 store', () => {
  it('signs pointer and release reads with the environment keys, without the SDK', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const { store, logger } = await storeWithMetadata();
    const read = await store.readPointer(key);
    expect(read).toMatchObject({ status: 'found', text: pointerText });
    if (read.status !== 'found') throw new Error('not found');
    expect(await store.readPointer(key, read.etag)).toEqual({ status: 'unchanged' });

    const opened = await store.openRelease(releaseKey('deploy', 'myapp', '1.0'));
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(release);
    expect(metadata.requests).toEqual([]);
    expect(debugLines(logger).filter((line) => line.includes('AWS SDK'))).toEqual([]);
    // The SDK mixes its helpers into every body it returns; a plain node:http body never came through it.
    expect('transformToString' in opened.body).toBe(false);
  });

  it('takes the instance profile credentials from instance metadata, once for both pointers and the release', async () => {
    const { store } = await storeWithMetadata({ role: 'fleet-agent', accessKeyId: 'ASIAFLEET', secretAccessKey: 'secret', token: 'session' });
    const reads = await Promise.all([store.readPointer(key), store.readPointer(key)]);
    expect(reads.map((read) => read.status)).toEqual(['found', 'found']);
    const opened = await store.openRelease(releaseKey('deploy', 'myapp', '1.0'));
    opened.body.resume();
    expect(opened.size).toBe(release.length);
    expect(metadata.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'PUT /latest/api/token',
      `GET ${credentialsPath}`,
      `GET ${credentialsPath}fleet-agent`,
    ]);
  });

  it('reports an instance without an instance profile as an AWS error (exit 6)', async () => {
    const { store } = await storeWithMetadata();
    const error = await failure(store.readPointer(key));
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).exitCode).toBe(ExitCode.aws);
    expect(error.message).toBe(
      `cannot read s3://${bucket}/${key}: no credentials from the EC2 instance profile: ` +
        `instance metadata at ${metadata.url} answered HTTP 404 for ${credentialsPath}`,
    );
  });

  it('leaves pointer and release reads to the SDK when a credentials file could name the keys', async () => {
    const file = join(home, 'credentials');
    await writeFile(file, '[default]\naws_access_key_id = test\naws_secret_access_key = test\n');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', file);
    const { store, logger } = await storeWithMetadata();
    expect(await store.readPointer(key)).toMatchObject({ status: 'found', text: pointerText });
    const opened = await store.openRelease(releaseKey('deploy', 'myapp', '1.0'));
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(release);
    expect('transformToString' in opened.body).toBe(true);
    expect(debugLines(logger)).toContain('reading S3 through the AWS SDK: AWS_SHARED_CREDENTIALS_FILE is set');
    expect(metadata.requests).toEqual([]);
  });
});
