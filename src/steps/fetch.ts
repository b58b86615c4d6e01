// Step 4: base and service downloaded in parallel, each verified before it is renamed into releases/.
import { fetchRelease } from '../artifacts/fetch-release.js';
import { releaseKey } from '../artifacts/pointer.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { RunContext } from './context.js';
import type { ResolvedPointers, ResolvedRelease } from './resolve.js';

export interface FetchedRelease {
  release: ResolvedRelease;
  dir: string;
  reused: boolean;
}

/** Both are awaited even when one fails, so no extraction outlives the run or its lock. */
export async function fetchBoth(
  context: RunContext,
  store: ArtifactStore,
  pointers: ResolvedPointers,
): Promise<{ base: FetchedRelease; service: FetchedRelease }> {
  const { config, layout, logger } = context;
  const fetchOne = async (release: ResolvedRelease, releasesDir: string): Promise<FetchedRelease> => {
    const result = await fetchRelease({
      store,
      key: releaseKey(config.prefix, release.service, release.version),
      version: release.version,
      sha256: release.sha256,
      releasesDir,
      limits: { maxBytes: config.fetch.max_bytes, maxEntries: config.fetch.max_entries },
      attempts: config.fetch.attempts,
      logger,
    });
    return { release, dir: result.dir, reused: result.reused };
  };
  const [base, service] = await Promise.allSettled([
    fetchOne(pointers.base, layout.base.releasesDir),
    fetchOne(pointers.service, layout.service.releasesDir),
  ]);
  if (service.status === 'rejected') throw service.reason;
  if (base.status === 'rejected') throw base.reason;
  return { base: base.value, service: service.value };
}

export function describeFetched(fetched: FetchedRelease): string {
  return `${fetched.release.service} ${fetched.release.version} ${fetched.reused ? 'reused' : 'downloaded'}`;
}
