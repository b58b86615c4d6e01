// Step 4: base and service downloaded in parallel, each verified before it is renamed into releases/.
import { fetchRelease } from '../artifacts/fetch-release.js';
import { releaseKey } from '../artifacts/pointer.js';
import { Transform, pipeline } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import type { ProgressGroup } from '../log/progress.js';
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
  const bar = context.ports.progress('downloading');
  const counted = countingStore(store, bar);
  const fetchOne = async (release: ResolvedRelease, releasesDir: string): Promise<FetchedRelease> => {
    const result = await fetchRelease({
      store: counted,
      key: releaseKey(config.prefix, release.service, release.version),
      version: release.version,
      sha256: release.sha256,
      releasesDir,
      limits: { maxBytes: config.fetch.max_bytes, maxEntries: config.fetch.max_entries },
      attempts: config.fetch.attempts,
      idleTimeoutMs: config.fetch.read_timeout * 1000,
      logger,
    });
    return { release, dir: result.dir, reused: result.reused };
  };
  const [base, service] = await Promise.allSettled([
    fetchOne(pointers.base, layout.base.releasesDir),
    fetchOne(pointers.service, layout.service.releasesDir),
  ]).finally(() => bar.finish());
  if (service.status === 'rejected') throw service.reason;
  if (base.status === 'rejected') throw base.reason;
  return { base: base.value, service: service.value };
}

/** The same store, with every body byte also counted on the progress bar. */
function countingStore(store: ArtifactStore, bar: ProgressGroup): ArtifactStore {
  return {
    bucket: store.bucket,
    url: (key) => store.url(key),
    readPointer: (key, etag) => store.readPointer(key, etag),
    async openRelease(key, range) {
      const opened = await store.openRelease(key, range);
      // A resumed connection continues a transfer already counted in the total.
      const part = bar.part(range ? 0 : (opened.size ?? 0));
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          part.advance(chunk.length);
          callback(null, chunk);
        },
      });
      // pipeline() carries an error of the body to the counter, and a destroy of the counter back to the body.
      return { ...opened, body: pipeline(opened.body, counter, () => undefined) };
    },
  };
}

export function describeFetched(fetched: FetchedRelease): string {
  return `${fetched.release.service} ${fetched.release.version} ${fetched.reused ? 'reused' : 'downloaded'}`;
}
