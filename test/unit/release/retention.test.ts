// Tests for release retention: newest N plus protected versions kept, leftovers cleaned, by marker time or mtime.
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { releaseMarkerFile } from '../../../src/release/layout.js';
import { pruneReleases } from '../../../src/release/retention.js';
import { exitedPid } from '../../helpers/processes.js';

let releasesDir: string;
beforeEach(async () => {
  releasesDir = await mkdtemp(join(tmpdir(), 'pulldeploy-retention-'));
});
afterEach(async () => {
  await rm(releasesDir, { recursive: true, force: true });
});

const hour = 60 * 60 * 1000;

/** A release whose marker says it was fetched `ageHours` ago. */
async function addRelease(version: string, ageHours: number): Promise<void> {
  await mkdir(join(releasesDir, version, 'hooks'), { recursive: true });
  const fetchedAt = new Date(Date.now() - ageHours * hour).toISOString();
  await writeFile(join(releasesDir, version, releaseMarkerFile), JSON.stringify({ fetched_at: fetchedAt }));
}

/** A release without a marker, its directory mtime `ageHours` ago. */
async function addUnmarkedRelease(version: string, ageHours: number): Promise<void> {
  const dir = join(releasesDir, version);
  await mkdir(dir, { recursive: true });
  const time = new Date(Date.now() - ageHours * hour);
  await utimes(dir, time, time);
}

async function listed(): Promise<string[]> {
  return (await readdir(releasesDir)).sort();
}

describe('pruneReleases', () => {
  it('keeps the newest N by fetched_at plus the protected ones and removes the rest', async () => {
    for (const [version, age] of [['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]] as const) await addRelease(version, age);
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir, keep: 2, protect: ['d'], logger });
    expect(result.kept).toEqual(['a', 'b', 'd']);
    expect(result.removed).toEqual(['c', 'e']);
    expect(result.failed).toEqual([]);
    expect(await listed()).toEqual(['a', 'b', 'd']);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('orders by the marker fetched_at before the directory mtime', async () => {
    await addRelease('fetched-last', 0.1);
    await addRelease('fetched-first', 10);
    // Touch the older release so its mtime is the newest: the marker must still win.
    const now = new Date();
    await utimes(join(releasesDir, 'fetched-first'), now, now);
    await utimes(join(releasesDir, 'fetched-last'), new Date(0), new Date(0));
    const result = await pruneReleases({ releasesDir, keep: 1, protect: [], logger: createMemoryLogger() });
    expect(result.kept).toEqual(['fetched-last']);
    expect(result.removed).toEqual(['fetched-first']);
  });

  it('orders releases without a marker (or with an unusable one) by directory mtime', async () => {
    await addUnmarkedRelease('old', 48);
    await addUnmarkedRelease('new', 1);
    await mkdir(join(releasesDir, 'middle'));
    await writeFile(join(releasesDir, 'middle', releaseMarkerFile), '{not json');
    await addUnmarkedRelease('middle', 24);
    const result = await pruneReleases({ releasesDir, keep: 2, protect: [], logger: createMemoryLogger() });
    expect(result.kept).toEqual(['new', 'middle']);
    expect(result.removed).toEqual(['old']);
  });

  it('never removes protected versions, even with keep 0', async () => {
    await addRelease('current', 30);
    await addRelease('previous', 40);
    await addRelease('other', 1);
    const result = await pruneReleases({ releasesDir, keep: 0, protect: ['current', 'previous', 'not-present'], logger: createMemoryLogger() });
    expect(result.kept.sort()).toEqual(['current', 'previous']);
    expect(result.removed).toEqual(['other']);
    expect(await listed()).toEqual(['current', 'previous']);
  });

  it('keeps everything when there are no more releases than keep', async () => {
    await addRelease('a', 1);
    await addRelease('b', 2);
    const result = await pruneReleases({ releasesDir, keep: 5, protect: [], logger: createMemoryLogger() });
    expect(result).toEqual({ removed: [], kept: ['a', 'b'], failed: [], removedLeftovers: [] });
  });

  it('removes .incoming-* and .stale-* leftovers older than an hour and leaves younger ones and files alone', async () => {
    await addRelease('a', 1);
    for (const name of ['.incoming-old', '.stale-b-123-abc']) await addUnmarkedRelease(name, 2);
    await mkdir(join(releasesDir, '.incoming-old', 'deep', 'tree'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * hour);
    await utimes(join(releasesDir, '.incoming-old'), twoHoursAgo, twoHoursAgo);
    await addUnmarkedRelease('.incoming-running', 0.1);
    await addUnmarkedRelease('.other-hidden', 5);
    await writeFile(join(releasesDir, 'notes.txt'), 'not a release');
    const result = await pruneReleases({ releasesDir, keep: 0, protect: ['a'], logger: createMemoryLogger() });
    expect(result.removedLeftovers.sort()).toEqual(['.incoming-old', '.stale-b-123-abc']);
    expect(result.kept).toEqual(['a']);
    expect(await listed()).toEqual(['.incoming-running', '.other-hidden', 'a', 'notes.txt']);
  });

  it('removes at once the leftovers of a run that was killed, known by the pid in their names', async () => {
    await addRelease('a', 1);
    const dead = await exitedPid();
    await addUnmarkedRelease(`.incoming-b-${dead}-AbC123`, 0);
    await addUnmarkedRelease(`.stale-a-${dead}-0123456789ab`, 0);
    await addUnmarkedRelease(`.incoming-b-${process.pid}-AbC123`, 0);
    const result = await pruneReleases({ releasesDir, keep: 5, protect: [], logger: createMemoryLogger() });
    expect(result.removedLeftovers.sort()).toEqual([`.incoming-b-${dead}-AbC123`, `.stale-a-${dead}-0123456789ab`]);
    expect(await listed()).toEqual([`.incoming-b-${process.pid}-AbC123`, 'a']);
  });

  it('leaves no trace of a removed release', async () => {
    await addRelease('a', 1);
    await addRelease('b', 2);
    await pruneReleases({ releasesDir, keep: 1, protect: [], logger: createMemoryLogger() });
    expect(await listed()).toEqual(['a']);
  });

  it('does nothing and warns about nothing when the releases directory does not exist yet', async () => {
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir: join(releasesDir, 'missing'), keep: 1, protect: [], logger });
    expect(result).toEqual({ removed: [], kept: [], failed: [], removedLeftovers: [] });
    expect(logger.lines).toEqual([]);
  });

  it('warns, without throwing, when the releases directory cannot be listed', async () => {
    const notADirectory = join(releasesDir, 'file');
    await writeFile(notADirectory, '');
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir: notADirectory, keep: 1, protect: [], logger });
    expect(result.removed).toEqual([]);
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining(`could not list ${notADirectory} to prune old releases: ENOTDIR`) }),
    ]);
  });

  it('refuses a keep that is not a whole number of 0 or more', async () => {
    const logger = createMemoryLogger();
    await expect(pruneReleases({ releasesDir, keep: -1, protect: [], logger })).rejects.toThrow(UsageError);
    await expect(pruneReleases({ releasesDir, keep: 1.5, protect: [], logger })).rejects.toThrow(
      'keep_releases must be a whole number of 0 or more, got 1.5',
    );
  });
});
