// The deploy pipeline of DESIGN.md §4: the steps in order, each with its failure rule.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ArtifactError, StepError, UsageError, describeError, isPulldeployError } from './errors.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import type { Grains } from './identity/grains.js';
import type { GroupNameLookup } from './identity/asg-lookup.js';
import type { MetadataSource } from './identity/metadata.js';
import { resolveGrains } from './identity/resolve.js';
import type { ArtifactStore } from './artifacts/store.js';
import { parsePointer, pointerKey, releaseKey, type Pointer } from './artifacts/pointer.js';
import { fetchRelease } from './artifacts/fetch-release.js';
import { agentPaths, hostLayout, type HostLayout } from './release/layout.js';
import { linkedVersion, pointLink, readLink, restoreLink } from './release/links.js';
import { pruneReleases } from './release/retention.js';
import { buildHookEnvironment } from './run/hook-env.js';
import { runHooks } from './run/hooks.js';
import { runApply, writeSaltConfig } from './run/apply.js';
import type { LoadBalancer } from './lb/load-balancer.js';
import { acquireLock } from './state/lock.js';
import { readState, recordRun, writeState, type RunRecord, type State } from './state/state-file.js';
import { createStepRecorder, type StepRecorder } from './state/step-recorder.js';

export interface DeployRequest {
  root: string;
  /** SERVICE and INSTANCE from the command line, when given. */
  service?: string;
  instance?: string;
  config: Config;
}

/** Every side effect the pipeline has beyond the host tree, so tests can substitute any of them. */
export interface DeployPorts {
  metadata: MetadataSource;
  groupLookup: (awsRegion: string) => GroupNameLookup;
  store: (bucket: string, awsRegion: string) => ArtifactStore;
  loadBalancer: (name: string, awsRegion: string) => LoadBalancer;
  hostname: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  logger: Logger;
}

interface Release {
  service: string;
  pointer: Pointer;
  dir: string;
}

export async function deploy(request: DeployRequest, ports: DeployPorts): Promise<RunRecord> {
  const { config, root } = request;
  const { logger } = ports;
  if (config.bucket === '') {
    throw new UsageError('no bucket configured: set "bucket" in /etc/pulldeploy/config.yaml, PULLDEPLOY_BUCKET or --bucket');
  }
  const agent = agentPaths(root);
  const steps = createStepRecorder(logger, ports.now);
  const startedAt = ports.now();
  const runId = randomUUID();

  const lock = await steps.run('lock', () =>
    acquireLock({ path: agent.lockFile, wait: true, timeoutMs: config.lock_timeout * 1000, logger, command: 'deploy' }),
  );
  let state: State | undefined;
  let grains: Grains | undefined;
  const versions: RunRecord['versions'] = {};
  try {
    state = await readState(agent.stateFile);
    grains = await steps.run(
      'identify',
      async () =>
        (
          await resolveGrains({
            service: request.service,
            instance: request.instance,
            hostname: ports.hostname,
            domain: config.domain,
            metadata: ports.metadata,
            lookup: ports.groupLookup,
            logger,
          })
        ).grains,
      (g) => `${g.cluster_name} node ${g.service_node}`,
    );
    const identity = grains;
    const hostTree = hostLayout(root, identity.service_name, config.base_service);
    const store = ports.store(config.bucket, identity.aws_region);

    const pointers = await steps.run(
      'resolve',
      () => resolvePointers(store, config, identity),
      (p) => `${identity.service_name} ${p.service.version}, ${config.base_service} ${p.base.version}`,
    );

    const [base, service] = await steps.run(
      'fetch',
      () => fetchBoth(store, config, hostTree, identity.service_name, pointers, logger),
      ([b, s]) => `${describeFetch(b)}; ${describeFetch(s)}`,
    );

    const previousVersion = await linkedVersion(hostTree.service.current);
    versions.service = { current: previousVersion, previous: lastKnownPrevious(state, 'service') };
    const previousBase = await linkedVersion(hostTree.base.current);
    versions.base = { current: previousBase };
    const hookEnv = (phase: 'pre-release' | 'post-release' | 'apply') =>
      buildHookEnvironment({
        base: ports.env,
        grains: identity,
        version: service.pointer.version,
        previousVersion,
        releaseDir: service.dir,
        phase,
        root: hostTree.root,
      });

    await stageAndApply(steps, config, hostTree, identity, base, service, hookEnv, logger);

    await steps.run('switch', () => pointLink(hostTree.service.current, service.dir));
    versions.service = {
      current: service.pointer.version,
      previous: previousVersion !== service.pointer.version ? previousVersion : versions.service.previous,
    };
    versions.base = {
      current: base.pointer.version,
      previous: previousBase !== base.pointer.version ? previousBase : lastKnownPrevious(state, 'base'),
    };

    await steps.run('post-release', () =>
      runReleaseHooks('post-release', service.dir, hookEnv('post-release'), config, logger),
    );
    await steps.run('register', () => register(config, identity, ports), (done) => done);

    const before = state;
    await steps.run('record', () => writeState(agent.stateFile, recordRun(before, finishRun('success', 0))));
    await steps.run('prune', () => pruneBoth(hostTree, config, versions, logger), (text) => text);
    // The success is on disk before pruning; this rewrite only adds the timings of record and prune themselves.
    const run = finishRun('success', 0);
    try {
      await writeState(agent.stateFile, recordRun(before, run));
    } catch (error) {
      logger.warn(`could not add the record and prune timings to ${agent.stateFile}: ${describeError(error)}`);
    }
    return run;
  } catch (error) {
    const code = isPulldeployError(error) ? error.exitCode : 1;
    const run = finishRun('failed', code, error);
    // A state file that could not be read is left as it is for a person to look at, never overwritten.
    if (state !== undefined) {
      try {
        await writeState(agent.stateFile, recordRun(state, run));
      } catch (writeError) {
        logger.warn(`could not record the failed run in ${agent.stateFile}: ${describeError(writeError)}`);
      }
    }
    throw error;
  } finally {
    await lock.release();
  }

  function finishRun(outcome: RunRecord['outcome'], exitCode: number, error?: unknown): RunRecord {
    return {
      id: runId,
      command: 'deploy',
      started_at: startedAt.toISOString(),
      finished_at: ports.now().toISOString(),
      outcome,
      exit_code: exitCode,
      ...(steps.failedStep ? { failed_step: steps.failedStep } : {}),
      ...(error !== undefined ? { error: describeError(error) } : {}),
      ...(grains ? { grains } : {}),
      versions,
      steps: steps.steps,
    };
  }
}

async function resolvePointers(store: ArtifactStore, config: Config, grains: Grains) {
  const read = async (service: string) => {
    const key = pointerKey(config.prefix, service, grains.service_instance);
    const result = await store.readPointer(key);
    if (result.status !== 'found') throw new ArtifactError(`pointer ${store.url(key)} unexpectedly unchanged`);
    return parsePointer(result.text, store.url(key));
  };
  const [base, service] = await Promise.allSettled([read(config.base_service), read(grains.service_name)]);
  // When both fail, the service's own pointer is the one a person is most likely to have forgotten.
  if (service.status === 'rejected') throw service.reason;
  if (base.status === 'rejected') throw base.reason;
  return { base: base.value, service: service.value };
}

/** Base and service download in parallel; both are awaited so no extraction outlives the run or its lock. */
async function fetchBoth(
  store: ArtifactStore,
  config: Config,
  layout: HostLayout,
  serviceName: string,
  pointers: { base: Pointer; service: Pointer },
  logger: Logger,
): Promise<[Release & { reused: boolean }, Release & { reused: boolean }]> {
  const fetchOne = async (service: string, pointer: Pointer, releasesDir: string) => {
    const result = await fetchRelease({
      store,
      key: releaseKey(config.prefix, service, pointer.version),
      version: pointer.version,
      sha256: pointer.sha256,
      releasesDir,
      limits: { maxBytes: config.fetch.max_bytes, maxEntries: config.fetch.max_entries },
      attempts: config.fetch.attempts,
      logger,
    });
    return { service, pointer, dir: result.dir, reused: result.reused };
  };
  const settled = await Promise.allSettled([
    fetchOne(config.base_service, pointers.base, layout.base.releasesDir),
    fetchOne(serviceName, pointers.service, layout.service.releasesDir),
  ]);
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  const [base, service] = settled as [PromiseFulfilledResult<Release & { reused: boolean }>, PromiseFulfilledResult<Release & { reused: boolean }>];
  return [base.value, service.value];
}

function describeFetch(release: Release & { reused: boolean }): string {
  return `${release.service} ${release.pointer.version} ${release.reused ? 'reused' : 'downloaded'}`;
}

/**
 * Steps 5–7. Until the switch, `current` of the service is untouched; the links staged here are put back
 * exactly as they were when anything fails, so the instance keeps serving the old release unchanged.
 */
async function stageAndApply(
  steps: StepRecorder,
  config: Config,
  layout: HostLayout,
  grains: Grains,
  base: Release,
  service: Release,
  hookEnv: (phase: 'pre-release' | 'apply') => NodeJS.ProcessEnv,
  logger: Logger,
): Promise<void> {
  const staged = [layout.base.current, layout.serviceLink, layout.service.next];
  const before = await Promise.all(staged.map((link) => readLink(link)));
  try {
    await steps.run('stage', async () => {
      await pointLink(layout.base.current, base.dir);
      await pointLink(layout.serviceLink, layout.service.dir);
      await pointLink(layout.service.next, service.dir);
    });
    await steps.run('pre-release', () => runReleaseHooks('pre-release', service.dir, hookEnv('pre-release'), config, logger));
    await steps.run('apply', async () => {
      await writeSaltConfig({ root: layout.root, grains });
      await runApply({
        command: config.apply.command,
        env: hookEnv('apply'),
        cwd: service.dir,
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
    logger.info('links restored; the instance still runs the previous release and was not registered');
    throw error;
  }
}

async function runReleaseHooks(
  phase: 'pre-release' | 'post-release',
  releaseDir: string,
  env: NodeJS.ProcessEnv,
  config: Config,
  logger: Logger,
): Promise<void> {
  await runHooks({
    dir: join(releaseDir, 'hooks', phase),
    phase,
    env,
    cwd: releaseDir,
    timeoutMs: config.hooks.timeout * 1000,
    killGraceMs: config.hooks.kill_grace * 1000,
    logger,
  });
}

async function register(config: Config, grains: Grains, ports: DeployPorts): Promise<string> {
  if (!config.lb.register) return 'disabled by lb.register';
  const loadBalancer = ports.loadBalancer(config.lb.elb_name || grains.cluster_name, grains.aws_region);
  try {
    await loadBalancer.register(grains.instance_id);
  } catch (error) {
    // The contract makes a failed registration a failed step (exit 1), whatever the cause.
    throw new StepError(describeError(error), { cause: error });
  }
  return `${grains.instance_id} with ${loadBalancer.description}`;
}

async function pruneBoth(layout: HostLayout, config: Config, versions: RunRecord['versions'], logger: Logger): Promise<string> {
  const protectedService = [versions.service?.current, versions.service?.previous, await linkedVersion(layout.service.next)];
  const [service, base] = await Promise.all([
    pruneReleases({
      releasesDir: layout.service.releasesDir,
      keep: config.keep_releases,
      protect: protectedService.filter((v): v is string => v !== undefined),
      logger,
    }),
    pruneReleases({
      releasesDir: layout.base.releasesDir,
      keep: config.keep_releases,
      protect: [versions.base?.current, versions.base?.previous].filter((v): v is string => v !== undefined),
      logger,
    }),
  ]);
  const removed = [...service.removed, ...base.removed];
  return removed.length === 0 ? 'nothing to remove' : `removed ${removed.join(', ')}`;
}


/** The release `current` pointed at before the last switch, as the newest run that knew it recorded it. */
function lastKnownPrevious(state: State, which: 'service' | 'base'): string | undefined {
  return state.history.find((run) => run.versions[which]?.previous !== undefined)?.versions[which]?.previous;
}
