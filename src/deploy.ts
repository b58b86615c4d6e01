// The deploy pipeline of DESIGN.md §4: the steps in order, each with its failure rule.
import type { KeyObject } from 'node:crypto';
import { loadVerifyKeys } from './artifacts/signature.js';
import { pointerKey } from './artifacts/pointer.js';
import type { LifecycleAction } from './asg/lifecycle.js';
import { requireBucket } from './config/load.js';
import type { Config } from './config/schema.js';
import { describeError } from './errors.js';
import type { Grains } from './identity/grains.js';
import { identifyInstance } from './steps/identify.js';
import { hostLayout, type HostLayout } from './release/layout.js';
import { linkedVersion } from './release/links.js';
import type { RunRecord, State } from './state/state-file.js';
import type { Ports, RunContext } from './steps/context.js';
import { describeFetched, fetchBoth } from './steps/fetch.js';
import { install } from './steps/install.js';
import { pruneBoth } from './steps/prune.js';
import { previousOf, recordedRun, type RunNotes } from './steps/recorded-run.js';
import { describeResolved, readBothPointers, selectRelease, type ResolvedPointers } from './steps/resolve.js';
import { drain, register } from './steps/traffic.js';
import type { Pointer } from './artifacts/pointer.js';

export interface DeployRequest {
  root: string;
  /** SERVICE and INSTANCE from the command line, when given. */
  service?: string;
  instance?: string;
  config: Config;
  command: 'deploy' | 'check';
  /** `deploy` waits up to lock_timeout for another run; `check` exits busy at once. */
  waitForLock: boolean;
  /** Deregister and drain first when the instance is registered (--drain or lb.drain_on_redeploy). */
  drain: boolean;
  /** What `check` already read, so nothing is asked twice. */
  known?: KnownState;
}

export interface KnownState {
  grains: Grains;
  pointers: { base: PointerAsRead; service: PointerAsRead };
}

export interface PointerAsRead {
  pointer: Pointer;
  etag: string | undefined;
}

export async function deploy(request: DeployRequest, ports: Ports): Promise<RunRecord> {
  const { config } = request;
  requireBucket(config);
  const keys = await loadVerifyKeys(config.verify_keys);
  let lifecycle: { action: LifecycleAction; heartbeats: { stop(): void } } | undefined;
  let prune: { layout: HostLayout; previous: { service?: string; base?: string } } | undefined;
  try {
    const run = await recordedRun({
      command: request.command,
      root: request.root,
      config,
      ports,
      waitForLock: request.waitForLock,
      body: async ({ steps, state, notes }) => {
        // 2. identify
        const grains = await steps.run('identify', () => identify(request, ports), describeIdentity(request));
        notes.grains = grains;
        const layout = hostLayout(request.root, grains.service_name, config.base_service);
        const context: RunContext = { config, ports, logger: ports.logger, steps, grains, layout };
        lifecycle = startLifecycle(context, state);

        // 3. resolve
        const store = ports.store(config.bucket, grains.aws_region);
        const pointers = await steps.run(
          'resolve',
          () => resolve(context, request.known, keys, (key) => store.url(key), () => readBothPointers(store, config, grains)),
          (p) => `${describeResolved(p.service)}, ${describeResolved(p.base)}`,
        );

        // 4. fetch
        const fetched = await steps.run(
          'fetch',
          () => fetchBoth(context, store, pointers),
          (f) => `${describeFetched(f.base)}; ${describeFetched(f.service)}`,
        );

        const previousVersion = await linkedVersion(layout.service.current);
        const previousBase = await linkedVersion(layout.base.current);
        notes.versions = {
          service: { current: previousVersion, previous: previousOf(state, 'service', previousVersion) },
          base: { current: previousBase, previous: previousOf(state, 'base', previousBase) },
        };

        // Optional: leave the load balancers before touching anything, when redeploying a serving instance.
        const loadBalancers = ports.loadBalancers(config, grains);
        const drained =
          request.drain || config.lb.drain_on_redeploy
            ? await steps.run('drain', () => drain(context, loadBalancers), (left) =>
                left.length > 0 ? `left ${left.map((lb) => lb.description).join(', ')}` : 'not registered: nothing to drain',
              )
            : [];

        try {
          // 5–9. stage, pre-release, apply, switch, post-release
          await install(context, {
            service: { version: fetched.service.release.version, dir: fetched.service.dir },
            base: { dir: fetched.base.dir },
            previousVersion,
            preRelease: true,
            onSwitched: () => {
              notes.versions = switchedVersions(notes, pointers, previousVersion, previousBase);
            },
          });
          // 10. register
          await steps.run('register', () => register(context, loadBalancers, config.lb.wait_in_service || drained.length > 0), (done) => done);
        } catch (error) {
          if (drained.length > 0) stayDeregistered(error, drained.map((lb) => lb.description));
          throw error;
        }

        prune = { layout, previous: { service: notes.versions.service?.previous, base: notes.versions.base?.previous } };
        notes.pointers = {
          [config.base_service]: pointerRecord(pointers.base),
          [grains.service_name]: pointerRecord(pointers.service),
        };
        if (lifecycle) {
          const action = lifecycle.action;
          await steps.run('lifecycle', () => action.complete('CONTINUE'), () => 'CONTINUE');
        }
      },
      // 11. record, then 12. prune
      afterRecord: async (steps) => {
        if (!prune) return;
        const { layout, previous } = prune;
        await steps.run('prune', () => pruneBoth(layout, config.keep_releases, previous, ports.logger), (text) => text);
      },
    });
    return run;
  } catch (error) {
    await lifecycle?.action.complete('ABANDON').catch((abandonError: unknown) => {
      ports.logger.warn(`could not abandon the launch lifecycle action: ${describeError(abandonError)}`);
    });
    throw error;
  } finally {
    lifecycle?.heartbeats.stop();
  }
}

async function identify(request: DeployRequest, ports: Ports): Promise<Grains> {
  if (request.known) return request.known.grains;
  return (await identifyInstance(request.config, ports, request)).grains;
}

function describeIdentity(request: DeployRequest) {
  return (grains: Grains) => `${grains.cluster_name} node ${grains.service_node}${request.known ? ' (as last recorded)' : ''}`;
}

async function resolve(
  context: RunContext,
  known: KnownState | undefined,
  keys: KeyObject[],
  url: (key: string) => string,
  readBoth: () => ReturnType<typeof readBothPointers>,
): Promise<ResolvedPointers> {
  const { config, grains } = context;
  let reads: { base: PointerAsRead; service: PointerAsRead };
  if (known) {
    reads = known.pointers;
  } else {
    const fresh = await readBoth();
    // Unconditional reads always find the pointer; "unchanged" needs an ETag, which a deploy never sends.
    if (fresh.base.status !== 'found' || fresh.service.status !== 'found') throw new Error('unconditional pointer read answered 304');
    reads = { base: fresh.base, service: fresh.service };
  }
  const urlOf = (service: string) => url(pointerKey(config.prefix, service, grains.service_instance));
  return {
    base: selectRelease(config.base_service, reads.base, grains, keys, urlOf(config.base_service)),
    service: selectRelease(grains.service_name, reads.service, grains, keys, urlOf(grains.service_name)),
  };
}

function switchedVersions(
  notes: RunNotes,
  pointers: ResolvedPointers,
  previousVersion: string | undefined,
  previousBase: string | undefined,
): RunRecord['versions'] {
  const service = pointers.service.version;
  const base = pointers.base.version;
  return {
    service: { current: service, previous: previousVersion !== service ? previousVersion : notes.versions.service?.previous },
    base: { current: base, previous: previousBase !== base ? previousBase : notes.versions.base?.previous },
  };
}

function pointerRecord(release: ResolvedPointers['base']) {
  return {
    ...(release.etag !== undefined ? { etag: release.etag } : {}),
    version: release.version,
    sha256: release.sha256,
    pointer: release.pointer,
  };
}

/** A deploy that drained and then failed leaves the instance out of service on purpose, and says so. */
function stayDeregistered(error: unknown, left: string[]): void {
  if (error instanceof Error) {
    error.message += `; the instance was deregistered from ${left.join(', ')} for this deploy and stays deregistered: run "pulldeploy register" once it is fixed`;
  }
}

/** The launch lifecycle hook waits only for the first deploy of an instance. */
function startLifecycle(context: RunContext, state: State) {
  const { config, grains, ports } = context;
  if (config.asg.lifecycle_hook === '') return undefined;
  if (state.history.some((run) => run.outcome === 'success')) return undefined;
  const action = ports.lifecycleAction({
    groupName: grains.cluster_name,
    hookName: config.asg.lifecycle_hook,
    instanceId: grains.instance_id,
    region: grains.aws_region,
  });
  return { action, heartbeats: action.startHeartbeats(config.asg.heartbeat_interval * 1000) };
}
