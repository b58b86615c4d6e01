// `rollback`: `current` back to the previous (or a named) release still on disk, then apply, post-release hooks, register.
import { lstat } from 'node:fs/promises';
import type { Config } from './config/schema.js';
import { UsageError, errorCode } from './errors.js';
import { hostLayout } from './release/layout.js';
import { linkedVersion, readLink } from './release/links.js';
import type { RunRecord } from './state/state-file.js';
import type { Ports, RunContext } from './steps/context.js';
import { install } from './steps/install.js';
import { lastKnownPrevious, recordedGrains, recordedRun } from './steps/recorded-run.js';
import { register } from './steps/traffic.js';

export interface RollbackRequest {
  root: string;
  config: Config;
  /** A release still present under releases/; default: the previous one. */
  to?: string;
}

export async function rollback(request: RollbackRequest, ports: Ports): Promise<RunRecord> {
  const { config } = request;
  return recordedRun({
    command: 'rollback',
    root: request.root,
    config,
    ports,
    waitForLock: true,
    body: async ({ steps, state, notes }) => {
      const grains = await steps.run('identify', async () => recordedGrains(state, 'nothing to roll back'), (g) => `${g.cluster_name} (as last recorded)`);
      notes.grains = grains;
      const layout = hostLayout(request.root, grains.service_name, config.base_service);
      const context: RunContext = { config, ports, logger: ports.logger, steps, grains, layout };
      const current = await linkedVersion(layout.service.current);
      const baseCurrent = await linkedVersion(layout.base.current);
      const baseDir = await readLink(layout.base.current);
      if (baseDir === undefined) throw new UsageError(`${layout.base.current} is missing: deploy once before rolling back`);
      notes.versions = { service: { current, previous: lastKnownPrevious(state, 'service') }, base: { current: baseCurrent } };

      const target = await steps.run('select', async () => {
        const version = request.to ?? lastKnownPrevious(state, 'service');
        if (version === undefined) {
          throw new UsageError('nothing to roll back to: no previous release is recorded; name one with --to VERSION');
        }
        if (version === current) throw new UsageError(`${version} is already current: nothing to roll back`);
        const dir = layout.releaseDir('service', version);
        await assertPresent(dir, version, layout.service.releasesDir);
        return { version, dir };
      }, (t) => `${current ?? 'none'} → ${t.version}`);

      await install(context, {
        service: target,
        base: { dir: baseDir },
        previousVersion: current,
        preRelease: false,
        onSwitched: () => {
          notes.versions = { service: { current: target.version, previous: current }, base: { current: baseCurrent } };
        },
      });
      await steps.run('register', () => register(context, ports.loadBalancers(config, grains), config.lb.wait_in_service), (d) => d);
    },
  });
}


async function assertPresent(dir: string, version: string, releasesDir: string): Promise<void> {
  try {
    if ((await lstat(dir)).isDirectory()) return;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  throw new UsageError(`release ${version} is not in ${releasesDir} (pruned, or never deployed here): choose one that is, or deploy it`);
}
