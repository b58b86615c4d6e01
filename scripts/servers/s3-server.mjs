// A local S3-compatible server that npm alone installs (s3rver), on 127.0.0.1, for the demo.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/**
 * @param {{ buckets: string[] }} options
 * @returns {Promise<{ url: string, stop(): Promise<void> }>}
 */
export async function startS3Server({ buckets }) {
  const directory = await mkdtemp(join(tmpdir(), 'pulldeploy-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
