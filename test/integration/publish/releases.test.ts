// releases against moto: versions with size and date, each environment's pointer, canaries, and pointers that are broken or name nothing.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointerKey, releaseKey } from '../../../src/artifacts/pointer.js';
import { formatListing, listReleases } from '../../../src/publish/releases.js';
import { createBucket, publisherOn, type TestPublisher } from './moto-publisher.js';

let bucket: string;
let publisher: TestPublisher;
const digest = (letter: string) => letter.repeat(64);

async function put(key: string, body: string): Promise<void> {
  await publisher.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

beforeAll(async () => {
  bucket = await createBucket();
  publisher = publisherOn(bucket);
  await put(releaseKey('deploy', 'myapp', '1.0'), 'a'.repeat(10));
  await put(releaseKey('deploy', 'myapp', '1.1'), 'b'.repeat(2048));
  await put(releaseKey('deploy', 'other', '9.9'), 'not mine');
  await put(pointerKey('deploy', 'myapp', 'production'), JSON.stringify({ version: '1.0', sha256: digest('a'), canary: { version: '1.1', sha256: digest('b'), percent: 10 }, promoted_at: '2026-11-22T10:00:00Z', promoted_by: 'ci-bot' }));
  await put(pointerKey('deploy', 'myapp', 'testing'), JSON.stringify({ version: '1.1', sha256: digest('b') }));
  await put(pointerKey('deploy', 'myapp', 'staging'), JSON.stringify({ version: '0.9', sha256: digest('c') }));
  await put(pointerKey('deploy', 'myapp', 'broken'), 'not json');
});

afterAll(() => publisher.s3.destroy());

describe('listReleases', () => {
  it('lists every version, and which environment points at which, canaries included', async () => {
    const listing = await listReleases(publisher, 'myapp');
    expect(listing.url).toBe(`s3://${bucket}/deploy/myapp/`);
    expect(listing.releases.map(({ version, size, used_by }) => ({ version, size, used_by }))).toEqual([
      { version: '1.0', size: 10, used_by: [{ environment: 'production', role: 'stable' }] },
      {
        version: '1.1',
        size: 2048,
        used_by: [
          { environment: 'production', role: 'canary', percent: 10 },
          { environment: 'testing', role: 'stable' },
        ],
      },
    ]);
    for (const release of listing.releases) expect(release.published_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(listing.environments).toEqual([
      { environment: 'broken', problem: expect.stringMatching(/^pointer s3:\/\/.*\/broken\/current is not valid JSON/) },
      {
        environment: 'production',
        version: '1.0',
        sha256: digest('a'),
        canary: { version: '1.1', percent: 10 },
        promoted_at: '2026-11-22T10:00:00Z',
        promoted_by: 'ci-bot',
      },
      { environment: 'staging', version: '0.9', sha256: digest('c'), missing: ['0.9'] },
      { environment: 'testing', version: '1.1', sha256: digest('b') },
    ]);
  });

  it('formats the listing for a person', async () => {
    const text = formatListing(await listReleases(publisher, 'myapp'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^VERSION +SIZE +PUBLISHED +ENVIRONMENTS$/);
    expect(lines[1]).toMatch(/^1\.0 +10 B +\S+ +production$/);
    expect(lines[2]).toMatch(/^1\.1 +2\.0 KiB +\S+ +production \(canary 10%\), testing$/);
    expect(text).toMatch(/\nproduction +1\.0 +1\.1 \(10%\) +2026-11-22T10:00:00Z +ci-bot\n/);
    expect(text).toMatch(/\nstaging +0\.9 +- +- +- +MISSING RELEASE: 0\.9\n/);
    expect(text).toMatch(/\nbroken +- +- +- +- +INVALID: pointer .* is not valid JSON/);
  });

  it('says so when a service has nothing published', async () => {
    const listing = await listReleases(publisher, 'nothing');
    expect(listing).toEqual({ service: 'nothing', url: `s3://${bucket}/deploy/nothing/`, releases: [], environments: [] });
    expect(formatListing(listing)).toBe(`no releases under s3://${bucket}/deploy/nothing/releases/\n`);
  });
});
