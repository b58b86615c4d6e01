// What `status` shows: identity, the versions on disk, the last run and its steps, the lock, the trust mode.
import type { Config } from './config/schema.js';
import type { Grains } from './identity/grains.js';
import { agentPaths, hostLayout } from './release/layout.js';
import { linkedVersion } from './release/links.js';
import { readLockHolder, type LockStatus } from './state/lock.js';
import { readState, type RunRecord } from './state/state-file.js';
import { lastKnownPrevious } from './steps/recorded-run.js';
import { formatDuration } from './log/format-duration.js';

export interface InstanceStatus {
  grains: Grains | undefined;
  service: { name: string; current?: string; next?: string; previous?: string } | undefined;
  base: { name: string; current?: string; previous?: string };
  last_run: RunRecord | undefined;
  lock: LockStatus;
  /** Whether pointers must be signed by one of `verify_keys`. */
  signatures: 'required' | 'not checked';
}

export async function readStatus(root: string, config: Config): Promise<InstanceStatus> {
  const agent = agentPaths(root);
  const [state, lock] = await Promise.all([readState(agent.stateFile), readLockHolder(agent.lockFile)]);
  const grains = state.history.find((run) => run.grains !== undefined)?.grains;
  const layout = hostLayout(root, grains?.service_name ?? config.base_service, config.base_service);
  const service = grains
    ? {
        name: grains.service_name,
        ...pick('current', await linkedVersion(layout.service.current)),
        ...pick('next', await linkedVersion(layout.service.next)),
        ...pick('previous', lastKnownPrevious(state, 'service')),
      }
    : undefined;
  return {
    grains,
    service,
    base: {
      name: config.base_service,
      ...pick('current', await linkedVersion(layout.base.current)),
      ...pick('previous', lastKnownPrevious(state, 'base')),
    },
    last_run: state.last_run,
    lock,
    signatures: config.verify_keys.length > 0 ? 'required' : 'not checked',
  };
}

function pick<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export function formatStatus(status: InstanceStatus, now: Date): string {
  const lines: string[] = [];
  const g = status.grains;
  lines.push(g ? `${g.cluster_name} node ${g.service_node} (${g.instance_id}, ${g.aws_region})` : 'no deploy recorded on this instance yet');
  if (status.service) {
    const s = status.service;
    lines.push(`${s.name.padEnd(12)} current ${s.current ?? '-'}   next ${s.next ?? '-'}   previous ${s.previous ?? '-'}`);
  }
  lines.push(`${status.base.name.padEnd(12)} current ${status.base.current ?? '-'}   previous ${status.base.previous ?? '-'}`);
  const run = status.last_run;
  if (run) {
    const ago = formatDuration(now.getTime() - Date.parse(run.finished_at));
    const failure = run.outcome === 'failed' ? ` at ${run.failed_step ?? '?'} (exit ${run.exit_code}): ${run.error ?? ''}` : '';
    lines.push(`last run     ${run.command} ${run.outcome}${failure}, ${ago} ago (${run.finished_at})`);
    lines.push(
      '             ' + run.steps.map((step) => `${step.name} ${formatDuration(step.duration_ms)}${step.outcome === 'failed' ? ' FAILED' : ''}`).join(', '),
    );
  }
  const lock = status.lock;
  lines.push(
    lock.state === 'held'
      ? `lock         held by pid ${lock.holder.pid} (\`${lock.holder.command}\`, since ${lock.holder.acquired_at})${lock.alive ? '' : ', stale: the process is gone'}`
      : lock.state === 'unreadable'
        ? 'lock         present but unreadable'
        : 'lock         free',
  );
  lines.push(status.signatures === 'required' ? 'signatures   required (verify_keys)' : 'signatures   not checked: this fleet runs unsigned releases (set verify_keys)');
  return lines.join('\n') + '\n';
}
