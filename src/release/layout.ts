// The host layout of DESIGN.md §3: every absolute path pulldeploy reads or writes under --root.
import { join, resolve } from 'node:path';
import { ArtifactError, UsageError } from '../errors.js';

/** Written into each extracted release; its `fetched_at` orders releases for retention. */
export const releaseMarkerFile = '.pulldeploy-release.json';

export type ReleaseOwner = 'base' | 'service';

/** The agent's own files, which do not depend on the service: known before the instance's identity is. */
export interface AgentPaths {
  root: string;
  stateDir: string;
  stateFile: string;
  lockFile: string;
  configFile: string;
  saltDir: string;
  saltMinionConfigFile: string;
  saltGrainsFile: string;
}

export interface HostLayout extends AgentPaths {
  srvDir: string;
  base: { dir: string; releasesDir: string; current: string };
  service: { dir: string; releasesDir: string; next: string; current: string };
  /** `srv/service`, the standard link tools point at. */
  serviceLink: string;
  releaseDir(which: ReleaseOwner, version: string): string;
}

/** False for a name that would not stay one directory below its parent (a slash, `..`). */
function isPathSegment(value: string): boolean {
  return value !== '' && value !== '.' && value !== '..' && !value.includes('/') && !value.includes('\0');
}

function assertServiceName(what: string, value: string): void {
  if (!isPathSegment(value)) {
    throw new UsageError(`${what} "${value}" cannot be a directory under srv/: use a name without "/" that is not "." or ".."`);
  }
}

export function agentPaths(root: string): AgentPaths {
  const absoluteRoot = resolve(root);
  const stateDir = join(absoluteRoot, 'var', 'lib', 'pulldeploy');
  const saltDir = join(absoluteRoot, 'etc', 'salt');
  return {
    root: absoluteRoot,
    stateDir,
    stateFile: join(stateDir, 'state.json'),
    lockFile: join(stateDir, 'lock'),
    configFile: join(absoluteRoot, 'etc', 'pulldeploy', 'config.yaml'),
    saltDir,
    saltMinionConfigFile: join(saltDir, 'minion.d', 'pulldeploy.conf'),
    saltGrainsFile: join(saltDir, 'grains'),
  };
}

export function hostLayout(root: string, service: string, baseService: string): HostLayout {
  assertServiceName('service name', service);
  assertServiceName('base service name', baseService);
  const agent = agentPaths(root);
  const srvDir = join(agent.root, 'srv');
  const baseDir = join(srvDir, baseService);
  const serviceDir = join(srvDir, service);
  const releasesDirOf: Record<ReleaseOwner, string> = {
    base: join(baseDir, 'releases'),
    service: join(serviceDir, 'releases'),
  };
  return {
    ...agent,
    srvDir,
    base: { dir: baseDir, releasesDir: releasesDirOf.base, current: join(baseDir, 'current') },
    service: {
      dir: serviceDir,
      releasesDir: releasesDirOf.service,
      next: join(serviceDir, 'next'),
      current: join(serviceDir, 'current'),
    },
    serviceLink: join(srvDir, 'service'),
    releaseDir(which, version) {
      // The pointer is validated when read; this keeps a bad version from ever naming a path outside releases/.
      if (!isPathSegment(version)) {
        throw new ArtifactError(`release version "${version}" cannot be a directory under ${releasesDirOf[which]}: refusing it`);
      }
      return join(releasesDirOf[which], version);
    },
  };
}
