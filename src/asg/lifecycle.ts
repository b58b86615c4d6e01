// The Auto Scaling launch lifecycle action of this instance: heartbeats that hold it open while the first deploy runs, then its completion.
import { AwsError } from '../errors.js';
import { awsReason } from '../aws/aws-reason.js';
import { clientSettings } from '../aws/client-config.js';
import { formatDuration } from '../log/format-duration.js';
import type { Logger } from '../log/logger.js';

type Sdk = typeof import('@aws-sdk/client-auto-scaling');
type Client = InstanceType<Sdk['AutoScalingClient']>;

export type LifecycleResult = 'CONTINUE' | 'ABANDON';

export interface LifecycleActionOptions {
  groupName: string;
  hookName: string;
  instanceId: string;
  /** The AWS region with dashes: `us-east-1`. */
  region: string;
  logger: Logger;
}

export interface Heartbeats {
  stop(): void;
}

export interface LifecycleAction {
  /** Ends the action (stopping any heartbeats first); no active action is a warning, any other failure an AwsError. */
  complete(result: LifecycleResult): Promise<void>;
  /** Records one heartbeat; a failure is logged as a warning, never thrown. */
  heartbeat(): Promise<void>;
  /** A heartbeat every intervalMs, each after the previous one finished, until stopped or Auto Scaling reports no active action. */
  startHeartbeats(intervalMs: number): Heartbeats;
}

type HeartbeatOutcome = 'sent' | 'no active action' | 'failed';

export function createLifecycleAction(options: LifecycleActionOptions): LifecycleAction {
  const { groupName, hookName, instanceId, region, logger } = options;
  const subject = `lifecycle hook ${hookName} of ${instanceId} in Auto Scaling group ${groupName}`;
  const target = { LifecycleHookName: hookName, AutoScalingGroupName: groupName, InstanceId: instanceId };
  const running = new Set<Heartbeats>();

  const withClient = async <T>(use: (client: Client, sdk: Sdk) => Promise<T>): Promise<T> => {
    const sdk = await import('@aws-sdk/client-auto-scaling');
    const client = new sdk.AutoScalingClient(clientSettings(region));
    try {
      return await use(client, sdk);
    } finally {
      client.destroy();
    }
  };

  const sendHeartbeat = async (): Promise<HeartbeatOutcome> => {
    try {
      await withClient((client, sdk) => client.send(new sdk.RecordLifecycleActionHeartbeatCommand(target)));
      logger.verbose(`heartbeat recorded for ${subject}`);
      return 'sent';
    } catch (error) {
      if (isNoActiveAction(error)) {
        logger.warn(`no active lifecycle action for ${subject}, so no heartbeat is needed: ${awsReason(error)}`);
        return 'no active action';
      }
      logger.warn(
        `could not record a heartbeat for ${subject}: ${awsReason(error)}; ` +
          `if none gets through before the hook's heartbeat timeout, Auto Scaling applies its default result`,
      );
      return 'failed';
    }
  };

  return {
    async complete(result) {
      for (const heartbeats of [...running]) heartbeats.stop();
      const started = performance.now();
      try {
        await withClient((client, sdk) =>
          client.send(new sdk.CompleteLifecycleActionCommand({ ...target, LifecycleActionResult: result })),
        );
      } catch (error) {
        if (isNoActiveAction(error)) {
          // An instance deployed again after its launch has no lifecycle action waiting.
          logger.warn(`no active lifecycle action to complete with ${result} for ${subject}: ${awsReason(error)}`);
          return;
        }
        throw new AwsError(
          `cannot complete ${subject} with ${result}: ${awsReason(error)}; ` +
            `Auto Scaling applies the hook's default result when its heartbeat timeout passes`,
          { cause: error },
        );
      }
      logger.info(`completed ${subject} with ${result} in ${formatDuration(performance.now() - started)}`);
    },

    async heartbeat() {
      await sendHeartbeat();
    },

    startHeartbeats(intervalMs) {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const heartbeats: Heartbeats = {
        stop() {
          stopped = true;
          clearTimeout(timer);
          running.delete(heartbeats);
        },
      };
      const schedule = () => {
        timer = setTimeout(async () => {
          const outcome = await sendHeartbeat();
          if (outcome === 'no active action') heartbeats.stop();
          if (!stopped) schedule();
        }, intervalMs);
        // A forgotten loop must not keep the process alive after the deploy has finished.
        timer.unref();
      };
      running.add(heartbeats);
      schedule();
      return heartbeats;
    },
  };
}

/** What Auto Scaling answers for an instance with no pending lifecycle action (e.g. long after its launch). */
function isNoActiveAction(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /no active lifecycle action/i.test(error.message);
}
