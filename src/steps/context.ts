// What every step of a run shares: configuration, side effects, the step timer, and who this instance is.
import type { ArtifactStore } from '../artifacts/store.js';
import type { Config } from '../config/schema.js';
import type { GroupNameLookup } from '../identity/asg-lookup.js';
import type { Grains } from '../identity/grains.js';
import type { MetadataSource } from '../identity/metadata.js';
import type { LifecycleAction } from '../asg/lifecycle.js';
import type { LoadBalancer } from '../lb/load-balancer.js';
import type { Logger } from '../log/logger.js';
import type { ProgressGroup } from '../log/progress.js';
import type { HostLayout } from '../release/layout.js';
import type { StepRecorder } from '../state/step-recorder.js';

/** Every side effect beyond the host tree, so tests can substitute any of them. */
export interface Ports {
  metadata: MetadataSource;
  groupLookup: (awsRegion: string) => GroupNameLookup;
  store: (bucket: string, awsRegion: string) => ArtifactStore;
  loadBalancers: (config: Config, grains: Grains) => LoadBalancer[];
  lifecycleAction: (args: { groupName: string; hookName: string; instanceId: string; region: string }) => LifecycleAction;
  hostname: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** A progress bar on a terminal; draws nothing otherwise. */
  progress: (label: string) => ProgressGroup;
  logger: Logger;
}

export interface RunContext {
  config: Config;
  ports: Ports;
  logger: Logger;
  steps: StepRecorder;
  grains: Grains;
  layout: HostLayout;
}
