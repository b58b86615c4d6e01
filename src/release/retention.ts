// Release retention (DESIGN.md §4 step 12): keep the newest releases and the protected ones, remove the rest.
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { isLeftOfDeadProcess, uniqueSuffix } from './durable.js';
import { errorCode } from '../errors.js';
import { releaseMarkerFile } from './layout.js';

/** Leftovers younger than this may belong to a fetch or prune still running, so they are left alone, unless their maker is dead. */
const leftoverMinAgeMs = 60 * 60 * 1000;
const leftoverPrefixes = ['.incoming-', '.stale-'];

export interface PruneOptions {
  releasesDir: string;
  /** How many of the newest releases to keep, protected ones aside. */
  keep: number;
  /** Versions never removed: current, next, previous. */
  protect: readonly string[];
  logger: Logger;
}

export interface PruneResult {
  removed: string[];
  kept: string[];
  /** Releases that should have gone but could not be moved away (each logged as a warning). */
  failed: string[];
  /** Old `.incoming-*` / `.stale-*` directories cleaned up. */
  removedLeftovers: string[];
}

/** When the release arrived: the marker's `fetched_at`, else the directory's mtime. */
async function releaseTime(releaseDir: string): Promise<number> {
  try {
    const marker: unknown = JSON.parse(await readFile(join(releaseDir, releaseMarkerFile), 'utf8'));
    if (typeof marker === 'object' && marker !== null && 'fetched_at' in marker && typeof marker.fetched_at === 'string') {
      const time = Date.parse(marker.fetched_at);
      if (!Number.isNaN(time)) return time;
    }
  } catch {
    // No or unreadable marker: fall back to the directory's mtime.
  }
  try {
    return (await stat(releaseDir)).mtimeMs;
  } catch {
    // Vanished while listing: sorts as oldest, and its removal then reports what happened.
    return 0;
  }
}

/** Versions newest first; equal times are ordered by name, newest-looking first, so the result is stable. */
async function releasesNewestFirst(releasesDir: string, names: string[]): Promise<string[]> {
  const timed = await Promise.all(names.map(async (name) => ({ name, time: await releaseTime(join(releasesDir, name)) })));
  timed.sort((a, b) => b.time - a.time || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return timed.map((release) => release.name);
}

/** Moves the release out of its name first, so a half-deleted tree is never taken for a release. */
async function removeRelease(releasesDir: string, version: string, logger: Logger): Promise<boolean> {
  const stale = join(releasesDir, `.stale-${version}-${uniqueSuffix()}`);
  try {
    await rename(join(releasesDir, version), stale);
  } catch (error) {
    logger.warn(`could not remove old release ${join(releasesDir, version)}: ${describeError(error)}`);
    return false;
  }
  try {
    await rm(stale, { recursive: true, force: true });
  } catch (error) {
    logger.warn(`release ${version} moved aside to ${stale} but not deleted (a later prune retries): ${describeError(error)}`);
  }
  logger.verbose(`removed release ${version}`, { releases_dir: releasesDir });
  return true;
}

async function removeOldLeftovers(releasesDir: string, names: string[], logger: Logger): Promise<string[]> {
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    const path = join(releasesDir, name);
    try {
      // A run killed mid-fetch leaves its `.incoming-*`; the pid in the name says at once that nobody is writing it.
      if (!(await isLeftOfDeadProcess(name)) && now - (await stat(path)).mtimeMs < leftoverMinAgeMs) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(name);
      logger.verbose(`removed leftover ${path}`);
    } catch (error) {
      logger.warn(`could not remove leftover ${path}: ${describeError(error)}`);
    }
  }
  return removed;
}

export async function pruneReleases(options: PruneOptions): Promise<PruneResult> {
  const { releasesDir, keep, protect, logger } = options;
  if (!Number.isInteger(keep) || keep < 0) {
    throw new UsageError(`keep_releases must be a whole number of 0 or more, got ${keep}`);
  }
  let entries;
  try {
    entries = await readdir(releasesDir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      logger.warn(`could not list ${releasesDir} to prune old releases: ${describeError(error)}`);
    }
    return { removed: [], kept: [], failed: [], removedLeftovers: [] };
  }
  const directories = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const releases = directories.filter((name) => !name.startsWith('.'));
  const leftovers = directories.filter((name) => leftoverPrefixes.some((prefix) => name.startsWith(prefix)));

  const ordered = await releasesNewestFirst(releasesDir, releases);
  const protectedVersions = new Set(protect);
  const result: PruneResult = { removed: [], kept: [], failed: [], removedLeftovers: [] };
  for (const [index, version] of ordered.entries()) {
    if (index < keep || protectedVersions.has(version)) {
      result.kept.push(version);
    } else if (await removeRelease(releasesDir, version, logger)) {
      result.removed.push(version);
    } else {
      result.failed.push(version);
    }
  }
  result.removedLeftovers = await removeOldLeftovers(releasesDir, leftovers, logger);
  return result;
}
