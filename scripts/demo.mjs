// The local demo: a real deploy of the example releases from a local S3 into a temp root, on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { create as createTar } from 'tar';
import { startMetadataServer } from './servers/metadata-server.mjs';
import { startS3Server } from './servers/s3-server.mjs';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(repo, 'dist', 'js', 'cli', 'main.js');
const bucket = 'demo-releases';
const started = Date.now();

const work = await mkdtemp(join(tmpdir(), 'pulldeploy-demo-'));
const root = join(work, 'root');
const s3 = await startS3Server({ buckets: [bucket] });
const metadata = await startMetadataServer({
  instanceId: 'i-0abc898900',
  region: 'us-east-1',
  asgName: 'myapp-testing-useast1',
});

try {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  console.log(`local S3 at ${s3.url}, instance metadata at ${metadata.url}\n`);
  // Publishing by the S3 contract alone (README, "S3 layout"): a gzip tar under releases/, a JSON pointer.
  for (const [service, source, version] of [
    ['base', 'examples/salt/base', '20261122.1-base'],
    ['myapp', 'examples/salt/myapp', '20261122.1-3f2a9c1'],
  ]) {
    const tarball = await packDirectory(join(repo, source));
    const sha256 = createHash('sha256').update(tarball).digest('hex');
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: `deploy/${service}/releases/${version}.tar.gz`, Body: tarball }),
    );
    const pointer = JSON.stringify({ version, sha256, size: tarball.length });
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `deploy/${service}/testing/current`, Body: pointer }));
    console.log(`published s3://${bucket}/deploy/${service}/releases/${version}.tar.gz (${tarball.length} bytes)`);
    console.log(`promoted  s3://${bucket}/deploy/${service}/testing/current = ${pointer}`);
  }
  client.destroy();

  // The configuration an instance would have in /etc/pulldeploy/config.yaml (here under the temp root).
  const configText = [
    `bucket: ${bucket}`,
    '# salt is not installed for the demo: a stand-in shows what salt-call would be given.',
    `apply:\n  command: ${join(repo, 'examples', 'demo', 'apply-standin')}`,
    '# The local S3 server has no load balancers to register with.',
    'lb:\n  register: false',
    '',
  ].join('\n');
  await mkdir(join(root, 'etc', 'pulldeploy'), { recursive: true });
  await writeFile(join(root, 'etc', 'pulldeploy', 'config.yaml'), configText, { mode: 0o644 });
  console.log(`\n${join(root, 'etc/pulldeploy/config.yaml')}:\n${configText.replace(/^/gm, '  ')}`);

  const args = ['myapp', 'testing', '-v', '--root', root];
  console.log(`\n$ pulldeploy ${args.join(' ')}\n`);
  const exitCode = await runAgent(args, {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: s3.url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
  });

  console.log(`\nexit code ${exitCode}\n\nthe host tree under ${root}:`);
  for (const line of await listTree(root, ['srv', 'etc', 'var'])) console.log(`  ${line}`);
  const state = JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));
  const run = state.last_run;
  console.log(`\nstate.json: ${run.outcome} (exit ${run.exit_code}), service ${run.versions.service.current}, base ${run.versions.base.current}`);
  for (const step of run.steps) {
    console.log(`  ${step.name.padEnd(13)} ${step.outcome.padEnd(6)} ${String(step.duration_ms).padStart(6)} ms  ${step.detail ?? ''}`);
  }
  console.log(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; files left in ${work}`);
  process.exitCode = exitCode;
} finally {
  await metadata.stop();
  await s3.stop();
}

/** A gzip tar of a directory's contents, in memory (the examples are a few KB). */
async function packDirectory(dir) {
  const entries = (await readdir(dir)).sort();
  const chunks = [];
  for await (const chunk of createTar({ gzip: true, cwd: dir, portable: true }, entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function runAgent(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function listTree(base, tops) {
  const lines = [];
  const walk = async (dir, depth) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      const shown = relative(base, path);
      if (info.isSymbolicLink()) lines.push(`${shown} -> ${await readlink(path)}`);
      else if (info.isDirectory()) {
        lines.push(`${shown}/`);
        // Releases are listed by name only: their contents are the examples.
        if (depth < 3 && !dirname(path).endsWith('releases')) await walk(path, depth + 1);
      } else lines.push(shown);
    }
  };
  for (const top of tops) await walk(join(base, top), 1).catch(() => undefined);
  return lines;
}
