// Step 12: release retention for the service and the base; never removes current, next or previous.
import type { Logger } from '../log/logger.js';
import type { HostLayout } from '../release/layout.js';
import { linkedVersion } from '../release/links.js';
import { pruneReleases } from '../release/retention.js';

export async function pruneBoth(
  layout: HostLayout,
  keep: number,
  previous: { service?: string; base?: string },
  logger: Logger,
): Promise<string> {
  const [current, next, baseCurrent] = await Promise.all([
    linkedVersion(layout.service.current),
    linkedVersion(layout.service.next),
    linkedVersion(layout.base.current),
  ]);
  const present = (versions: (string | undefined)[]) => versions.filter((v): v is string => v !== undefined);
  const [service, base] = await Promise.all([
    pruneReleases({ releasesDir: layout.service.releasesDir, keep, protect: present([current, next, previous.service]), logger }),
    pruneReleases({ releasesDir: layout.base.releasesDir, keep, protect: present([baseCurrent, previous.base]), logger }),
  ]);
  const removed = [...service.removed, ...base.removed];
  return removed.length === 0 ? 'nothing to remove' : `removed ${removed.join(', ')}`;
}
