// `--dry-run`: what a deploy would fetch, stage, run, switch and register, found without changing anything.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadVerifyKeys } from './artifacts/signature.js';
import { pointerKey } from './artifacts/pointer.js';
import type { Config } from './config/schema.js';
import { errorCode } from './errors.js';
import type { Grains } from './identity/grains.js';
import { hostLayout, releaseMarkerFile } from './release/layout.js';
import { linkedVersion } from './release/links.js';
import type { Ports } from './steps/context.js';
import { readBothPointers, selectRelease, type ResolvedRelease } from './steps/resolve.js';

export interface PlannedRelease {
  service: string;
  version: string;
  canary: boolean;
  /** Already on disk and verified: no download. */
  present: boolean;
  current: string | undefined;
}

export interface DeployPlan {
  grains: Grains;
  base: PlannedRelease;
  service: PlannedRelease;
  /** Hooks of the service release by phase; undefined until the release is downloaded. */
  hooks: { 'pre-release': string[]; 'post-release': string[] } | undefined;
  apply: string;
  loadBalancers: string[] | 'disabled';
  drain: boolean;
}

export async function planDeploy(config: Config, root: string, grains: Grains, drain: boolean, ports: Ports): Promise<DeployPlan> {
  const keys = await loadVerifyKeys(config.verify_keys);
  const layout = hostLayout(root, grains.service_name, config.base_service);
  const store = ports.store(config.bucket, grains.aws_region);
  const reads = await readBothPointers(store, config, grains);
  if (reads.base.status !== 'found' || reads.service.status !== 'found') throw new Error('unconditional pointer read answered 304');
  const urlOf = (service: string) => store.url(pointerKey(config.prefix, service, grains.service_instance));
  const base = selectRelease(config.base_service, reads.base, grains, keys, urlOf(config.base_service));
  const service = selectRelease(grains.service_name, reads.service, grains, keys, urlOf(grains.service_name));
  const plannedService = await planRelease(service, layout.service.releasesDir, await linkedVersion(layout.service.current));
  return {
    grains,
    base: await planRelease(base, layout.base.releasesDir, await linkedVersion(layout.base.current)),
    service: plannedService,
    hooks: plannedService.present
      ? {
          'pre-release': await listHooks(join(layout.service.releasesDir, service.version, 'hooks', 'pre-release')),
          'post-release': await listHooks(join(layout.service.releasesDir, service.version, 'hooks', 'post-release')),
        }
      : undefined,
    apply: config.apply.command,
    loadBalancers: config.lb.register ? ports.loadBalancers(config, grains).map((lb) => lb.description) : 'disabled',
    drain: drain || config.lb.drain_on_redeploy,
  };
}

async function planRelease(release: ResolvedRelease, releasesDir: string, current: string | undefined): Promise<PlannedRelease> {
  let present = false;
  try {
    const marker = JSON.parse(await readFile(join(releasesDir, release.version, releaseMarkerFile), 'utf8')) as { sha256?: unknown };
    present = marker.sha256 === release.sha256;
  } catch {
    present = false;
  }
  return { service: release.service, version: release.version, canary: release.canary, present, current };
}

async function listHooks(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

export function formatPlan(plan: DeployPlan): string {
  const release = (r: PlannedRelease) =>
    `${r.service} ${r.version}${r.canary ? ' (canary)' : ''}: ${r.present ? 'already present, reused' : 'download and verify'}` +
    `; current ${r.current ?? 'none'}${r.current === r.version ? ' (unchanged)' : ` → ${r.version}`}`;
  const hooks = (phase: 'pre-release' | 'post-release') =>
    plan.hooks === undefined ? 'known once the release is downloaded' : plan.hooks[phase].join(', ') || 'none';
  return [
    `dry run for ${plan.grains.cluster_name} node ${plan.grains.service_node}: nothing is changed`,
    `  fetch      ${release(plan.base)}`,
    `             ${release(plan.service)}`,
    ...(plan.drain ? ['  drain      deregister from its load balancers first, when registered'] : []),
    `  stage      srv/base/current → ${plan.base.version}, srv/service → ${plan.service.service}, next → ${plan.service.version}`,
    `  pre-release hooks: ${hooks('pre-release')}`,
    `  apply      ${plan.apply === 'none' ? 'skipped (apply.command is none)' : plan.apply}`,
    `  switch     current → ${plan.service.version}`,
    `  post-release hooks: ${hooks('post-release')}`,
    `  register   ${plan.loadBalancers === 'disabled' ? 'disabled by lb.register' : plan.loadBalancers.join(', ') || 'no load balancer configured'}`,
    '',
  ].join('\n');
}
