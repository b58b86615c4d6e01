// S3 faults through the whole CLI (reliability suite, issue 6): a fault-injecting proxy on 127.0.0.1 in front of the
// real S3 server (moto) answers bursts of 500 and 503 SlowDown, resets a body mid-way, closes it short, or stalls
// it. Transient faults are retried, a broken body resumed with a Range conditional on the ETag, and the deploy
// lands the right bytes; permanent 403 and 404 fail at once with exit 6 or 4 and a clear message.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { releaseTarGz, sha256 } from '../helpers/archives.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { motoS3Client } from '../helpers/moto-clients.js';
import type { BodyFault, ProxyAnswer, RecordedRequest } from '../helpers/recording-proxy.js';

/** What the proxy does to each request of a case: answers it, breaks its body, or (undefined) passes it. */
interface FaultPlan {
  answer?: (request: RecordedRequest) => ProxyAnswer | undefined;
  disrupt?: (request: RecordedRequest) => BodyFault | undefined;
}

let plan: FaultPlan = {};
let world: DeployWorld;
let release: Buffer;
let releaseEtag: string;
let cases = 0;
let root: string;

const releaseKey = 'deploy/myapp/releases/v2.tar.gz';
const pointerKey = 'deploy/myapp/testing/current';

beforeAll(async () => {
  world = await createDeployWorld({ answer: (request) => plan.answer?.(request), disrupt: (request) => plan.disrupt?.(request) });
  await world.release('base', 'b1', baseRelease('b1'));
  // About 2.6 MB that does not compress: a body of many chunks, to break anywhere.
  const data = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`data/${i}.bin`, randomBytes(48 * 1024).toString('base64')]));
  release = releaseTarGz(serviceRelease('v2', data));
  await world.publishBytes('myapp', 'v2', release);
  await world.promote('myapp', 'testing', { version: 'v2', sha256: sha256(release) });
  const s3 = motoS3Client();
  releaseEtag = (await s3.send(new HeadObjectCommand({ Bucket: world.bucket, Key: releaseKey }))).ETag ?? '';
  s3.destroy();
  expect(releaseEtag).toMatch(/^"[0-9a-f]{32}"$/);
});

afterAll(async () => {
  await world.stop();
});

beforeEach(async () => {
  plan = {};
  world.proxy.clear();
  cases += 1;
  root = join(world.work, `case-${cases}`);
  await mkdir(root);
});

const s3Error = (status: number, code: string, message: string): ProxyAnswer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`,
});
const slowDown = () => s3Error(503, 'SlowDown', 'Please reduce your request rate.');
const internalError = () => s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');

/** GETs of `key` in order of arrival, the answered ones included. */
const getsOf = (key: string) => world.proxy.requests.filter((request) => request.method === 'GET' && request.key === key);

/**
 * Numbers the GETs of `key` as they arrive (1 = the first), so a case can answer some and break the body of
 * others by their number; the proxy asks `answer` first for every request, `disrupt` only for those forwarded.
 */
function numberGets(key: string) {
  const numbers = new WeakMap<RecordedRequest, number>();
  let seen = 0;
  const numberOf = (request: RecordedRequest): number | undefined => {
    if (request.method !== 'GET' || request.key !== key) return undefined;
    if (!numbers.has(request)) numbers.set(request, (seen += 1));
    return numbers.get(request);
  };
  const by =
    <T>(steps: Record<number, () => T>) =>
    (request: RecordedRequest): T | undefined => {
      const number = numberOf(request);
      return number === undefined ? undefined : steps[number]?.();
    };
  return { answer: by<ProxyAnswer>, disrupt: by<BodyFault> };
}

/**
 * The second response carries the object from where the first one's bytes stopped reaching the agent: at most
 * what the proxy sent (a reset loses what was in flight), and exactly the rest of the object from there.
 */
function expectResumedAt(broken: RecordedRequest | undefined, resumed: RecordedRequest | undefined): void {
  const startOf = (request: RecordedRequest | undefined) => Number(/^bytes=(\d+)-$/.exec(request?.requestHeaders.range ?? '')?.[1] ?? 0);
  const start = startOf(resumed);
  expect(start).toBeGreaterThan(startOf(broken));
  expect(start).toBeLessThanOrEqual(startOf(broken) + (broken?.responseBytes ?? 0));
  expect(resumed?.status).toBe(206);
  expect(resumed?.responseBytes).toBe(release.length - start);
}

async function deploy(extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['myapp', 'testing', '-v', '--root', root], { ...world.env, ...extraEnv }, 120_000);
}

/** The deploy landed exactly the published bytes: the marker records the pointer's digest, the files are whole. */
async function expectDeployedIntact(result: CliResult): Promise<void> {
  expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
  const marker = JSON.parse(await readFile(join(root, 'srv/myapp/releases/v2/.pulldeploy-release.json'), 'utf8'));
  expect(marker).toMatchObject({ version: 'v2', sha256: sha256(release), bytes: release.length });
  expect(await readFile(join(root, 'srv/myapp/current/data/39.bin'), 'utf8')).toHaveLength(65_536);
  expect(await readdir(join(root, 'srv/myapp/releases'))).toEqual(['v2']);
}

/** A failed deploy left nothing: no release, no incoming directory, no current. */
async function expectNothingLanded(): Promise<void> {
  const releases = await readdir(join(root, 'srv/myapp/releases')).catch(() => []);
  expect(releases).toEqual([]);
  await expect(readFile(join(root, 'srv/myapp/current/VERSION'))).rejects.toThrow(/ENOENT/);
}

function lastError(result: CliResult): string {
  return result.stderr.trim().split('\n').at(-1) ?? '';
}

describe('transient faults are retried and the deploy lands the right bytes', () => {
  it('a burst of three 503 SlowDown on the pointer', async () => {
    plan.answer = numberGets(pointerKey).answer({ 1: slowDown, 2: slowDown, 3: slowDown });
    const result = await deploy();

    await expectDeployedIntact(result);
    expect(getsOf(pointerKey).map((request) => request.status)).toEqual([503, 503, 503, 200]);
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it('a burst of three 500 InternalError on the release', async () => {
    plan.answer = numberGets(releaseKey).answer({ 1: internalError, 2: internalError, 3: internalError });
    const result = await deploy();

    await expectDeployedIntact(result);
    expect(getsOf(releaseKey).map((request) => request.status)).toEqual([500, 500, 500, 200]);
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it('a connection reset mid-body: resumed with a Range on the same ETag', async () => {
    plan.disrupt = numberGets(releaseKey).disrupt({ 1: () => ({ after: 700_000, then: 'reset' }) });
    const result = await deploy();

    await expectDeployedIntact(result);
    const [first, resumed, ...more] = getsOf(releaseKey);
    expect(more).toEqual([]);
    expect(first?.requestHeaders.range).toBeUndefined();
    expect(resumed?.requestHeaders).toEqual({ range: expect.stringMatching(/^bytes=\d+-$/), 'if-match': releaseEtag });
    expect(resumed?.status).toBe(206);
    expectResumedAt(first, resumed);
    expect(result.stderr).toMatch(/download of s3:\/\/.*v2\.tar\.gz broke off after \d+ of \d+ bytes \(aborted, ECONNRESET\); resuming from there/);
  });

  it('a body that ends short of its Content-Length (a clean close): resumed', async () => {
    plan.disrupt = numberGets(releaseKey).disrupt({ 1: () => ({ after: 1_000_000, then: 'close' }) });
    const result = await deploy();

    await expectDeployedIntact(result);
    const gets = getsOf(releaseKey);
    expect(gets).toHaveLength(2);
    expectResumedAt(gets[0], gets[1]);
  });

  it('a body that stalls: dropped after fetch.read_timeout and resumed', async () => {
    plan.disrupt = numberGets(releaseKey).disrupt({ 1: () => ({ after: 500_000, then: 'stall' }) });
    const result = await deploy({ PULLDEPLOY_FETCH_READ_TIMEOUT: '1' });

    await expectDeployedIntact(result);
    expect(result.stderr).toMatch(/\(no data from s3:\/\/.*v2\.tar\.gz for 1000 ms, ETIMEDOUT\); resuming from there/);
    const gets = getsOf(releaseKey);
    expect(gets).toHaveLength(2);
    // A stalled connection loses nothing in flight: the resume starts exactly where the proxy stopped.
    expect(gets[1]?.requestHeaders.range).toBe(`bytes=${gets[0]?.responseBytes}-`);
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it('faults one after another: a reset, 503s on the resume, a short close, then the rest', async () => {
    const gets = numberGets(releaseKey);
    plan.disrupt = gets.disrupt({ 1: () => ({ after: 400_000, then: 'reset' }), 4: () => ({ after: 400_000, then: 'close' }) });
    plan.answer = gets.answer({ 2: slowDown, 3: slowDown });
    const result = await deploy();

    await expectDeployedIntact(result);
    const seen = getsOf(releaseKey);
    expect(seen.map((request) => request.status)).toEqual([200, 503, 503, 206, 206]);
    expect(seen.map((request) => request.requestHeaders['if-match'])).toEqual([undefined, releaseEtag, releaseEtag, releaseEtag, releaseEtag]);
    expectResumedAt(seen[3], seen[4]);
  });

  it('the object changed between connections (412 on If-Match): downloaded again from the start', async () => {
    const gets = numberGets(releaseKey);
    plan.disrupt = gets.disrupt({ 1: () => ({ after: 600_000, then: 'reset' }) });
    plan.answer = gets.answer({ 2: () => s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') });
    const result = await deploy();

    await expectDeployedIntact(result);
    expect(getsOf(releaseKey).map((request) => request.requestHeaders.range)).toEqual([undefined, expect.stringMatching(/^bytes=/), undefined]);
    expect(result.stderr).toMatch(/changed while it was being downloaded .*; downloading it again from the start/);
  });
});

describe('faults that persist: a clear failure, bounded in time, nothing left behind', () => {
  it('a body that breaks on every connection: exit 6 after fetch.attempts', async () => {
    plan.disrupt = (request) => (request.method === 'GET' && request.key === releaseKey ? { after: 300_000, then: 'reset' } : undefined);
    const result = await deploy({ PULLDEPLOY_FETCH_ATTEMPTS: '3' });

    expect(result.exitCode).toBe(6);
    expect(lastError(result)).toMatch(/^error: step fetch failed: download of s3:\/\/.*v2\.tar\.gz failed after 3 attempts: aborted, ECONNRESET$/);
    expect(getsOf(releaseKey)).toHaveLength(3);
    // 1 s, then 2 s between attempts.
    expect(result.durationMs).toBeLessThan(20_000);
    await expectNothingLanded();
  });

  it('500 on every request for the release: exit 6 once the SDK retries are spent', async () => {
    plan.answer = (request) => (request.method === 'GET' && request.key === releaseKey ? internalError() : undefined);
    const result = await deploy();

    expect(result.exitCode).toBe(6);
    expect(lastError(result)).toMatch(/cannot read s3:\/\/.*v2\.tar\.gz: InternalError: We encountered an internal error/);
    expect(getsOf(releaseKey)).toHaveLength(5);
    expect(result.durationMs).toBeLessThan(30_000);
    await expectNothingLanded();
  });
});

describe('permanent errors fail fast', () => {
  const cases: [string, string, () => ProxyAnswer, number, RegExp][] = [
    [
      '403 on the release',
      releaseKey,
      () => s3Error(403, 'AccessDenied', 'Access Denied'),
      6,
      /access denied reading s3:\/\/.*v2\.tar\.gz: the instance's IAM role needs s3:GetObject on arn:aws:s3:::.*/,
    ],
    ['404 on the release', releaseKey, () => s3Error(404, 'NoSuchKey', 'The specified key does not exist.'), 4, /release s3:\/\/.*v2\.tar\.gz not found: was it published\?/],
    ['403 on the pointer', pointerKey, () => s3Error(403, 'AccessDenied', 'Access Denied'), 6, /access denied reading s3:\/\/.*\/deploy\/myapp\/testing\/current/],
    [
      '404 on the pointer',
      pointerKey,
      () => s3Error(404, 'NoSuchKey', 'The specified key does not exist.'),
      4,
      /pointer s3:\/\/.*\/deploy\/myapp\/testing\/current not found: has the release been promoted\?/,
    ],
  ];

  for (const [name, key, answer, exitCode, message] of cases) {
    it(`${name}: exit ${exitCode} at once, without retrying`, async () => {
      plan.answer = (request) => (request.method === 'GET' && request.key === key ? answer() : undefined);
      const result = await deploy();

      expect(result.exitCode).toBe(exitCode);
      expect(lastError(result)).toMatch(message);
      expect(getsOf(key)).toHaveLength(1);
      expect(result.durationMs).toBeLessThan(5_000);
      await expectNothingLanded();
    });
  }
});
