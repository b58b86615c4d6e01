// Signed pointers end to end: `promote --sign-key`, then `pulldeploy deploy` with PULLDEPLOY_VERIFY_KEYS accepting or refusing (exit 4).
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canaryBucket } from '../../src/artifacts/canary.js';
import { runCli } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { motoS3Client } from '../helpers/moto-clients.js';

let world: DeployWorld;
const s3 = motoS3Client();
let oldKey: { key: string; pub: string };
let newKey: { key: string; pub: string };
let strangerKey: { key: string; pub: string };
let v2Sha256: string;

async function keygen(name: string): Promise<{ key: string; pub: string }> {
  const prefix = join(world.work, name);
  const result = await runCli(['keygen', '--out', prefix], world.env);
  expect(result.exitCode, result.stderr).toBe(0);
  return { key: `${prefix}.key`, pub: `${prefix}.pub` };
}

async function promote(service: string, version: string, key: string | undefined, extra: string[] = []): Promise<void> {
  const args = ['promote', service, 'testing', version, '--by', 'test', ...(key !== undefined ? ['--sign-key', key] : []), ...extra];
  const result = await runCli(args, world.env);
  expect(result.exitCode, result.stderr).toBe(0);
}

const pointerKey = (service: string) => `deploy/${service}/testing/current`;

async function readPointer(service: string): Promise<Record<string, unknown>> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: world.bucket, Key: pointerKey(service) }));
  return JSON.parse(await answer.Body!.transformToString()) as Record<string, unknown>;
}

async function writePointer(service: string, pointer: unknown): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: world.bucket, Key: pointerKey(service), Body: JSON.stringify(pointer) }));
}

function deploy(verifyKeys: string[]) {
  return runCli(['myapp', 'testing', '--root', world.root], { ...world.env, ...(verifyKeys.length > 0 ? { PULLDEPLOY_VERIFY_KEYS: verifyKeys.join(',') } : {}) });
}

async function expectRefused(verifyKeys: string[], reason: string | RegExp): Promise<void> {
  const result = await deploy(verifyKeys);
  expect(result.exitCode).toBe(4);
  if (typeof reason === 'string') expect(result.stderr).toContain(reason);
  else expect(result.stderr).toMatch(reason);
  expect(existsSync(join(world.root, 'srv/myapp/current'))).toBe(false);
}

const notVerified = /the signature does not verify for service myapp, version \S+, sha256 [0-9a-f]{64} with any of the \d verify_keys/;

beforeEach(async () => {
  world = await createDeployWorld();
  [oldKey, newKey, strangerKey] = [await keygen('old'), await keygen('new'), await keygen('stranger')];
  await world.publish('base', 'b1', baseRelease('b1'));
  await promote('base', 'b1', oldKey.key);
  await world.publish('myapp', 'v1', serviceRelease('v1'));
  v2Sha256 = (await world.publish('myapp', 'v2', serviceRelease('v2'))).sha256;
});

afterEach(async () => {
  await world.stop();
});

describe('with verify_keys', () => {
  it('deploys a pointer signed by the configured key', async () => {
    await promote('myapp', 'v1', oldKey.key);
    const result = await deploy([oldKey.pub]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
  });

  it('refuses an unsigned pointer, naming the fix', async () => {
    await promote('myapp', 'v1', undefined);
    await expectRefused([oldKey.pub], /pointer s3:\/\/\S+\/deploy\/myapp\/testing\/current is not signed, but verify_keys is set: promote with --sign-key/);
  });

  it('refuses a pointer whose version was changed after signing', async () => {
    await promote('myapp', 'v1', oldKey.key);
    await writePointer('myapp', { ...(await readPointer('myapp')), version: 'v2', sha256: v2Sha256 });
    await expectRefused([oldKey.pub], notVerified);
  });

  it('refuses a pointer whose sha256 was changed after signing', async () => {
    await promote('myapp', 'v1', oldKey.key);
    await writePointer('myapp', { ...(await readPointer('myapp')), sha256: 'e'.repeat(64) });
    await expectRefused([oldKey.pub], notVerified);
  });

  it("refuses another service's signed pointer copied over this one", async () => {
    await world.publish('other', 'v1', serviceRelease('v1'));
    const otherResult = await runCli(['promote', 'other', 'testing', 'v1', '--sign-key', oldKey.key, '--by', 'test'], world.env);
    expect(otherResult.exitCode, otherResult.stderr).toBe(0);
    await writePointer('myapp', await readPointer('other'));
    await expectRefused([oldKey.pub], notVerified);
  });

  it('refuses a pointer signed with a key that is not configured', async () => {
    await promote('myapp', 'v1', strangerKey.key);
    await expectRefused([oldKey.pub, newKey.pub], /with any of the 2 verify_keys/);
  });

  it('accepts either of two configured keys, for rotation', async () => {
    await promote('base', 'b1', newKey.key);
    await promote('myapp', 'v1', newKey.key);
    const withNew = await deploy([oldKey.pub, newKey.pub]);
    expect(withNew.exitCode, withNew.stderr).toBe(0);
    await promote('myapp', 'v2', oldKey.key);
    const withOld = await deploy([oldKey.pub, newKey.pub]);
    expect(withOld.exitCode, withOld.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v2');
  });

  it('verifies the canary with its own signature on a node of the cohort, and the stable one after an abort', async () => {
    await promote('myapp', 'v1', oldKey.key);
    // The instance id is random: choose the smallest percent that takes this node in (at 100 the canary becomes stable, same version).
    const percent = canaryBucket('myapp', world.instanceId.slice(2)) + 1;
    await promote('myapp', 'v2', oldKey.key, ['--canary', String(percent)]);
    const canary = await deploy([oldKey.pub]);
    expect(canary.exitCode, canary.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v2');

    const abort = await runCli(['promote', 'myapp', 'testing', '--abort-canary', '--by', 'test'], world.env);
    expect(abort.exitCode, abort.stderr).toBe(0);
    const stable = await deploy([oldKey.pub]);
    expect(stable.exitCode, stable.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
  });

  it('refuses a canary whose signature was removed, on a node of the cohort', async () => {
    await promote('myapp', 'v1', oldKey.key);
    await promote('myapp', 'v2', oldKey.key, ['--canary', '99']);
    const pointer = await readPointer('myapp');
    const { signature: _removed, ...canary } = pointer.canary as Record<string, unknown>;
    await writePointer('myapp', { ...pointer, canary: { ...canary, percent: 100 } });
    await expectRefused([oldKey.pub], 'is not signed, but verify_keys is set');
  });

  it('refuses a verify_keys entry that is not a public key: exit 2 naming it', async () => {
    await promote('myapp', 'v1', oldKey.key);
    const result = await deploy([oldKey.key]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`verify_keys entry "${oldKey.key}": is a private key`);
  });
});

describe('without verify_keys', () => {
  it('ignores signatures, even a garbage one', async () => {
    await promote('myapp', 'v1', undefined);
    await writePointer('myapp', { ...(await readPointer('myapp')), signature: 'not a signature' });
    const result = await deploy([]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readFile(join(world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
  });
});
