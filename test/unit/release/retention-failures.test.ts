// Tests that release removal failures are warnings: rename and rm are made to fail for chosen paths.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLogger } from '../../../src/log/logger.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const fail = (path: unknown): Error => Object.assign(new Error(`EBUSY: resource busy, ${String(path)}`), { code: 'EBUSY' });
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (String(from).endsWith('/stuck')) throw fail(from);
      return real.rename(from, to);
    },
    rm: async (path: string, options?: Parameters<typeof real.rm>[1]) => {
      if (String(path).includes('.stale-undeletable-') || String(path).endsWith('.incoming-undeletable')) throw fail(path);
      return real.rm(path, options);
    },
  };
});

const { pruneReleases } = await import('../../../src/release/retention.js');
const { utimes } = await import('node:fs/promises');

let releasesDir: string;
beforeEach(async () => {
  releasesDir = await mkdtemp(join(tmpdir(), 'pulldeploy-retention-fail-'));
});
afterEach(async () => {
  await rm(releasesDir, { recursive: true, force: true });
});

async function addDir(name: string, ageHours: number): Promise<void> {
  await mkdir(join(releasesDir, name));
  const time = new Date(Date.now() - ageHours * 60 * 60 * 1000);
  await utimes(join(releasesDir, name), time, time);
}

describe('pruneReleases when removal fails', () => {
  it('reports a release that cannot be moved away as failed, with a warning, and goes on', async () => {
    await addDir('new', 1);
    await addDir('stuck', 2);
    await addDir('old', 3);
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir, keep: 1, protect: [], logger });
    expect(result).toEqual({ removed: ['old'], kept: ['new'], failed: ['stuck'], removedLeftovers: [] });
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      `could not remove old release ${join(releasesDir, 'stuck')}: EBUSY: resource busy, ${join(releasesDir, 'stuck')}`,
    ]);
  });

  it('counts a release moved aside but not deleted as removed, leaving a .stale- leftover for later', async () => {
    await addDir('new', 1);
    await addDir('undeletable', 2);
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir, keep: 1, protect: [], logger });
    expect(result.removed).toEqual(['undeletable']);
    const left = await readdir(releasesDir);
    expect(left.filter((name) => name.startsWith('.stale-undeletable-'))).toHaveLength(1);
    expect(left).not.toContain('undeletable');
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^release undeletable moved aside to .*\.stale-undeletable-.* but not deleted \(a later prune retries\): EBUSY/) }),
    );
  });

  it('warns about a leftover it cannot delete', async () => {
    await addDir('.incoming-undeletable', 2);
    const logger = createMemoryLogger();
    const result = await pruneReleases({ releasesDir, keep: 1, protect: [], logger });
    expect(result.removedLeftovers).toEqual([]);
    expect(logger.lines.map((line) => line.message)).toEqual([
      `could not remove leftover ${join(releasesDir, '.incoming-undeletable')}: EBUSY: resource busy, ${join(releasesDir, '.incoming-undeletable')}`,
    ]);
  });
});
