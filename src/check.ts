// `check`, for timers: deploy only when a pointer moved or the last run failed; otherwise read two pointers and write nothing.
import { requireBucket } from './config/load.js';
import type { Config } from './config/schema.js';
import { BusyError } from './errors.js';
import type { KnownState, PointerAsRead } from './deploy.js';
import type { Grains } from './identity/grains.js';
import { agentPaths } from './release/layout.js';
import { readLockHolder } from './state/lock.js';
import { readState, writeState, type PointerRecord, type RunRecord, type State } from './state/state-file.js';
import { chooseRelease } from './artifacts/canary.js';
import type { DeployPlan } from './plan.js';
import type { Ports } from './steps/context.js';
import { readBothPointers, type PointerRead } from './steps/resolve.js';

export interface CheckRequest {
  root: string;
  config: Config;
  /** Upper bound of the random sleep before anything else, in seconds. */
  jitterSeconds: number;
  /** Decide, and print what a deploy would do, without changing anything. */
  dryRun: boolean;
}

export type CheckOutcome =
  | { action: 'up-to-date'; summary: string }
  | { action: 'deployed'; run: RunRecord }
  | { action: 'planned'; reason: string; plan: DeployPlan };

export async function check(request: CheckRequest, ports: Ports): Promise<CheckOutcome> {
  const { config } = request;
  const { logger } = ports;
  requireBucket(config);
  if (request.jitterSeconds > 0) {
    const delayMs = Math.floor(ports.random() * request.jitterSeconds * 1000);
    logger.debug(`jitter: sleeping ${delayMs} ms`);
    await ports.sleep(delayMs);
  }
  const agent = agentPaths(request.root);
  // Looking costs no write; taking the lock would touch the disk even when nothing moved.
  const holder = await readLockHolder(agent.lockFile);
  if (holder.state === 'held' && holder.alive) {
    throw new BusyError(`another pulldeploy run (pid ${holder.holder.pid}, \`${holder.holder.command}\`) holds ${agent.lockFile}`);
  }

  const state = await readState(agent.stateFile);
  const last = state.last_run;
  const grains = last?.grains;
  const deployNow = async (reason: string, known?: KnownState): Promise<CheckOutcome> => {
    // Loaded only when there is something to do: a check that finds nothing moved pays for none of it.
    if (request.dryRun) {
      const [{ planDeploy }, { identifyInstance }] = await Promise.all([import('./plan.js'), import('./steps/identify.js')]);
      const planFor = known?.grains ?? (await identifyInstance(config, ports)).grains;
      return { action: 'planned', reason, plan: await planDeploy(config, request.root, planFor, false, ports) };
    }
    logger.info(`deploying: ${reason}`);
    const { deploy } = await import('./deploy.js');
    return deploy(
      { root: request.root, config, command: 'check', waitForLock: false, drain: false, ...(known ? { known } : {}) },
      ports,
    ).then((run): CheckOutcome => ({ action: 'deployed', run }));
  };
  if (last === undefined || grains === undefined) return deployNow('no deploy recorded on this instance yet');
  if (last.outcome === 'failed') return deployNow(`the last run failed at ${last.failed_step ?? 'an early step'}; retrying`);

  const baseRecord = state.pointers[config.base_service];
  const serviceRecord = state.pointers[grains.service_name];
  const store = ports.store(config.bucket, grains.aws_region);
  const reads = await readBothPointers(store, config, grains, { base: baseRecord?.etag, service: serviceRecord?.etag });
  const base = asRead(reads.base, baseRecord);
  const service = asRead(reads.service, serviceRecord);
  const moved = [
    moves(config.base_service, base, baseRecord, grains),
    moves(grains.service_name, service, serviceRecord, grains),
  ].filter((reason): reason is string => reason !== undefined);

  if (moved.length > 0 || !base || !service) {
    const known = base && service ? { grains, pointers: { base, service } } : undefined;
    return deployNow(moved.length > 0 ? moved.join('; ') : 'the last deploy recorded no pointer', known);
  }
  // What runs, which after a rollback is not what the pointer names.
  const running = last.versions;
  const summary = `up to date (${grains.service_name} ${running.service?.current ?? serviceRecord?.version}, ${config.base_service} ${running.base?.current ?? baseRecord?.version})`;
  if (!request.dryRun && (reads.base.status === 'found' || reads.service.status === 'found')) {
    // The pointer object was rewritten with the same release: remember its new ETag so the next check is a 304 again.
    await writeState(agent.stateFile, withEtags(state, { [config.base_service]: base, [grains.service_name]: service }));
  }
  return { action: 'up-to-date', summary };
}

/** The pointer as this check knows it: read now, or unchanged since the recorded deploy (304). */
function asRead(read: PointerRead, record: PointerRecord | undefined): PointerAsRead | undefined {
  if (read.status === 'found') return { pointer: read.pointer, etag: read.etag };
  return record?.pointer ? { pointer: record.pointer, etag: record.etag } : undefined;
}

/** Why this node's release differs from what was last deployed, or undefined when it does not. */
function moves(service: string, read: PointerAsRead | undefined, record: PointerRecord | undefined, grains: Grains): string | undefined {
  if (!read || !record) return undefined;
  const chosen = chooseRelease(read.pointer, service, grains.service_node);
  if (chosen.version === record.version && chosen.sha256 === record.sha256) return undefined;
  return `${service} ${record.version} → ${chosen.version}${chosen.canary ? ' (canary)' : ''}`;
}

function withEtags(state: State, reads: Record<string, PointerAsRead | undefined>): State {
  const pointers = { ...state.pointers };
  for (const [service, read] of Object.entries(reads)) {
    const record = pointers[service];
    if (read && record) pointers[service] = { ...record, etag: read.etag, pointer: read.pointer };
  }
  return { ...state, pointers };
}
