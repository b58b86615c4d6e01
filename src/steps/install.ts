// Steps 5–9: stage the links, pre-release hooks, apply, switch `current`, post-release hooks.
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { pointLink, readLink, restoreLink } from '../release/links.js';
import { runApply, writeSaltConfig } from '../run/apply.js';
import { buildHookEnvironment } from '../run/hook-env.js';
import { runHooks } from '../run/hooks.js';
import type { RunContext } from './context.js';

export interface Installation {
  /** The service release to make current. */
  service: { version: string; dir: string };
  /** The base release `srv/base/current` points at while applying. */
  base: { dir: string };
  /** The version `current` pointed at before, for hooks. */
  previousVersion: string | undefined;
  /** Rollback runs only apply and post-release hooks against a release that ran its pre-release hooks before. */
  preRelease: boolean;
  /** Called once `current` names the new release, so the record is right even if post-release hooks fail. */
  onSwitched: () => void;
}

type Phase = 'pre-release' | 'post-release' | 'apply';

export async function install(context: RunContext, installation: Installation): Promise<void> {
  const { steps, layout } = context;
  await stageAndApply(context, installation);
  await steps.run('switch', () => pointLink(layout.service.current, installation.service.dir));
  installation.onSwitched();
  await steps.run('post-release', () => runReleaseHooks(context, installation, 'post-release'));
}

/**
 * Until the switch, `current` is untouched; the links staged here are put back exactly as they were when
 * anything fails, so the instance keeps serving the old release unchanged.
 */
async function stageAndApply(context: RunContext, installation: Installation): Promise<void> {
  const { steps, layout, logger, config } = context;
  const staged = [layout.base.current, layout.serviceLink, layout.service.next];
  const before = await Promise.all(staged.map((link) => readLink(link)));
  try {
    await steps.run('stage', async () => {
      await pointLink(layout.base.current, installation.base.dir);
      await pointLink(layout.serviceLink, layout.service.dir);
      await pointLink(layout.service.next, installation.service.dir);
    });
    if (installation.preRelease) {
      await steps.run('pre-release', () => runReleaseHooks(context, installation, 'pre-release'));
    }
    await steps.run('apply', async () => {
      await writeSaltConfig({ root: layout.root, grains: context.grains });
      await runApply({
        command: config.apply.command,
        env: hookEnvironment(context, installation, 'apply'),
        cwd: installation.service.dir,
        timeoutMs: config.apply.timeout * 1000,
        killGraceMs: config.hooks.kill_grace * 1000,
        logger,
      });
    });
  } catch (error) {
    for (const [index, link] of staged.entries()) {
      try {
        await restoreLink(link, before[index]);
      } catch (restoreError) {
        logger.error(`could not restore ${link}: ${describeError(restoreError)}`);
      }
    }
    logger.info('links restored: the instance still runs the release it ran before');
    throw error;
  }
}

async function runReleaseHooks(context: RunContext, installation: Installation, phase: 'pre-release' | 'post-release') {
  const { config, logger } = context;
  await runHooks({
    dir: join(installation.service.dir, 'hooks', phase),
    phase,
    env: hookEnvironment(context, installation, phase),
    cwd: installation.service.dir,
    timeoutMs: config.hooks.timeout * 1000,
    killGraceMs: config.hooks.kill_grace * 1000,
    logger,
  });
}

function hookEnvironment(context: RunContext, installation: Installation, phase: Phase) {
  return buildHookEnvironment({
    base: context.ports.env,
    grains: context.grains,
    version: installation.service.version,
    previousVersion: installation.previousVersion,
    releaseDir: installation.service.dir,
    phase,
    root: context.layout.root,
  });
}
