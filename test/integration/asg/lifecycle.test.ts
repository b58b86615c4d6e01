// The launch lifecycle action over real HTTP: group and hook live in moto; moto 5.2 lacks CompleteLifecycleAction and
// RecordLifecycleActionHeartbeat (it answers 500), so the recording proxy answers those two as Auto Scaling does.
import { randomBytes } from 'node:crypto';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createLifecycleAction } from '../../../src/asg/lifecycle.js';
import { AwsError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { stubAwsEnvironment } from '../../helpers/moto-clients.js';
import {
  queryApiError,
  queryApiResult,
  startRecordingProxy,
  type ProxyAnswer,
  type RecordedRequest,
  type RecordingProxy,
} from '../../helpers/recording-proxy.js';

const region = 'us-east-1';
// Unique in the run: moto is shared by every test file.
const groupName = `lifecycle-${randomBytes(5).toString('hex')}-testing-useast1`;
const hookName = 'pulldeploy-launch';
let instanceId = '';

let proxy: RecordingProxy;
let answer: ((request: RecordedRequest) => ProxyAnswer | undefined) | undefined;
/** Lifecycle actions Auto Scaling would hold open, as `group/hook/instance`. */
const pendingActions = new Set<string>();
/** When each heartbeat reached the proxy. */
let heartbeatTimes: number[] = [];

const lifecycleCalls = new Set(['CompleteLifecycleAction', 'RecordLifecycleActionHeartbeat']);

/** What Auto Scaling answers: success while the action is pending (completion ends it), else its ValidationError. */
function answerLikeAutoScaling(request: RecordedRequest): ProxyAnswer | undefined {
  if (request.action === undefined || !lifecycleCalls.has(request.action)) return undefined;
  if (request.action === 'RecordLifecycleActionHeartbeat') heartbeatTimes.push(performance.now());
  const { AutoScalingGroupName, LifecycleHookName, InstanceId } = request.params;
  const key = `${AutoScalingGroupName}/${LifecycleHookName}/${InstanceId}`;
  if (!pendingActions.has(key)) return queryApiError('ValidationError', `No active Lifecycle Action found with instance ID ${InstanceId}`);
  if (request.action === 'CompleteLifecycleAction') pendingActions.delete(key);
  return queryApiResult(request.action);
}

beforeAll(async () => {
  instanceId = await createGroupWithLaunchHook();
  proxy = await startRecordingProxy({ target: inject('motoUrl'), answer: (request) => answer?.(request) });
});
afterAll(() => proxy.stop());
beforeEach(() => {
  proxy.clear();
  pendingActions.clear();
  pendingActions.add(`${groupName}/${hookName}/${instanceId}`);
  heartbeatTimes = [];
  answer = answerLikeAutoScaling;
  stubAwsEnvironment(proxy.url);
});

async function createGroupWithLaunchHook(): Promise<string> {
  const config = { region, endpoint: inject('motoUrl'), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const ec2 = new EC2Client(config);
  const autoScaling = new AutoScalingClient(config);
  try {
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: `${groupName}-template`,
        LaunchTemplateData: { ImageId: images.Images?.[0]?.ImageId, InstanceType: 't3.micro' },
      }),
    );
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: groupName,
        LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: '$Latest' },
        AvailabilityZones: [`${region}a`],
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
      }),
    );
    await autoScaling.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: groupName,
        LifecycleHookName: hookName,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        HeartbeatTimeout: 300,
        DefaultResult: 'ABANDON',
      }),
    );
    const hooks = await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName }));
    expect(hooks.LifecycleHooks?.map((hook) => hook.LifecycleHookName)).toEqual([hookName]);
    const groups = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
    const launched = groups.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId;
    if (!launched) throw new Error(`moto launched no instance in ${groupName}`);
    return launched;
  } finally {
    ec2.destroy();
    autoScaling.destroy();
  }
}

function lifecycleAction() {
  const logger = createMemoryLogger();
  return { logger, action: createLifecycleAction({ groupName, hookName, instanceId, region, logger }) };
}

const subject = () => `lifecycle hook ${hookName} of ${instanceId} in Auto Scaling group ${groupName}`;
const calls = (action: string) => proxy.requests.filter((request) => request.action === action);
const messages = (logger: ReturnType<typeof createMemoryLogger>, level: string) =>
  logger.lines.filter((line) => line.level === level).map((line) => line.message);

describe('launch lifecycle action', () => {
  it.each(['CONTINUE', 'ABANDON'] as const)('completes the action with %s, naming the hook, group and instance', async (result) => {
    const { logger, action } = lifecycleAction();

    await action.complete(result);

    expect(proxy.requests.map((request) => request.action)).toEqual(['CompleteLifecycleAction']);
    expect(proxy.requests[0]?.service).toBe('autoscaling');
    expect(proxy.requests[0]?.params).toMatchObject({
      LifecycleHookName: hookName,
      AutoScalingGroupName: groupName,
      InstanceId: instanceId,
      LifecycleActionResult: result,
    });
    expect(pendingActions.size).toBe(0);
    expect(messages(logger, 'info')).toEqual([expect.stringMatching(new RegExp(`^completed ${subject()} with ${result} in \\d+ms$`))]);
  });

  it('only warns when there is no active action, as for an instance deployed again after its launch', async () => {
    const { logger, action } = lifecycleAction();
    pendingActions.clear();

    await action.complete('CONTINUE');

    expect(calls('CompleteLifecycleAction').map((request) => request.status)).toEqual([400]);
    expect(messages(logger, 'warn')).toEqual([
      `no active lifecycle action to complete with CONTINUE for ${subject()}: ` +
        `ValidationError: No active Lifecycle Action found with instance ID ${instanceId}`,
    ]);
  });

  it('fails with an AwsError naming the hook, group, instance and result on any other error', async () => {
    const { action } = lifecycleAction();
    const denied = `User: arn:aws:sts::123456789012:assumed-role/web/${instanceId} is not authorized to perform: autoscaling:CompleteLifecycleAction`;
    answer = () => queryApiError('AccessDenied', denied, 403);

    const error = await action.complete('ABANDON').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe(
      `cannot complete ${subject()} with ABANDON: AccessDenied: ${denied}; ` +
        "Auto Scaling applies the hook's default result when its heartbeat timeout passes",
    );
  });

  it('fails with an AwsError against moto itself, which does not implement CompleteLifecycleAction', async () => {
    const { action } = lifecycleAction();
    answer = undefined;

    await expect(action.complete('CONTINUE')).rejects.toThrow(new RegExp(`^cannot complete ${subject()} with CONTINUE: `));
    expect(calls('CompleteLifecycleAction').every((request) => request.status === 500 && !request.answered)).toBe(true);
  });

  it('records one heartbeat with the hook, group and instance', async () => {
    const { logger, action } = lifecycleAction();

    await action.heartbeat();

    expect(calls('RecordLifecycleActionHeartbeat').map((request) => request.params)).toEqual([
      expect.objectContaining({ LifecycleHookName: hookName, AutoScalingGroupName: groupName, InstanceId: instanceId }),
    ]);
    expect(messages(logger, 'verbose')).toEqual([`heartbeat recorded for ${subject()}`]);
  });

  it('logs a failed heartbeat as a warning and never throws', async () => {
    const { logger, action } = lifecycleAction();
    answer = () => queryApiError('AccessDenied', 'not authorized to perform: autoscaling:RecordLifecycleActionHeartbeat', 403);

    await expect(action.heartbeat()).resolves.toBeUndefined();

    expect(messages(logger, 'warn')).toEqual([
      `could not record a heartbeat for ${subject()}: AccessDenied: not authorized to perform: autoscaling:RecordLifecycleActionHeartbeat; ` +
        "if none gets through before the hook's heartbeat timeout, Auto Scaling applies its default result",
    ]);
  });

  it('sends heartbeats at the interval until stopped', async () => {
    const { action } = lifecycleAction();
    const intervalMs = 80;
    const started = performance.now();

    const heartbeats = action.startHeartbeats(intervalMs);
    await vi.waitFor(() => expect(heartbeatTimes.length).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 10 });
    heartbeats.stop();
    const sent = calls('RecordLifecycleActionHeartbeat').length;
    await new Promise((resolve) => setTimeout(resolve, 4 * intervalMs));

    expect(calls('RecordLifecycleActionHeartbeat')).toHaveLength(sent);
    const gaps = [heartbeatTimes[0]! - started, ...heartbeatTimes.slice(1).map((time, index) => time - heartbeatTimes[index]!)];
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(intervalMs - 5);
  });

  it('keeps sending heartbeats after one fails', async () => {
    const { logger, action } = lifecycleAction();
    let denied = false;
    answer = (request) => {
      if (request.action !== 'RecordLifecycleActionHeartbeat' || denied) return answerLikeAutoScaling(request);
      denied = true;
      return queryApiError('AccessDenied', 'denied once', 403);
    };

    const heartbeats = action.startHeartbeats(20);
    await vi.waitFor(() => expect(messages(logger, 'verbose')).toHaveLength(2), { timeout: 5000, interval: 10 });
    heartbeats.stop();

    expect(messages(logger, 'warn')).toEqual([expect.stringContaining('AccessDenied: denied once')]);
  });

  it('stops the heartbeats when it completes the action', async () => {
    const { action } = lifecycleAction();
    action.startHeartbeats(30);
    await vi.waitFor(() => expect(heartbeatTimes.length).toBeGreaterThanOrEqual(1), { timeout: 5000, interval: 5 });

    await action.complete('CONTINUE');
    await new Promise((resolve) => setTimeout(resolve, 150));

    const actions = proxy.requests.map((request) => request.action);
    // A heartbeat already on its way may land just after; none is started after the completion.
    expect(actions.slice(actions.indexOf('CompleteLifecycleAction') + 1).length).toBeLessThanOrEqual(1);
    expect(calls('CompleteLifecycleAction').map((request) => request.status)).toEqual([200]);
  });

  it('stops the heartbeats with a warning when there is no active action to hold open', async () => {
    const { logger, action } = lifecycleAction();
    pendingActions.clear();

    action.startHeartbeats(20);
    await vi.waitFor(() => expect(messages(logger, 'warn')).toHaveLength(1), { timeout: 5000, interval: 5 });
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(calls('RecordLifecycleActionHeartbeat')).toHaveLength(1);
    expect(messages(logger, 'warn')).toEqual([
      `no active lifecycle action for ${subject()}, so no heartbeat is needed: ` +
        `ValidationError: No active Lifecycle Action found with instance ID ${instanceId}`,
    ]);
  });
});
