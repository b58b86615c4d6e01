// The ALB/NLB target group over real HTTP against moto, through the recording proxy (which stands in for draining, which moto skips).
import { describe, expect, it } from 'vitest';
import { AwsError, StepError } from '../../../src/errors.js';
import { createTargetGroup } from '../../../src/lb/target-group.js';
import { queryApiResult, type ProxyAnswer } from '../../helpers/recording-proxy.js';
import { createMotoTargetGroup, launchInstance, region, stopInstance, uniqueName, useProxiedMoto } from './moto-fixtures.js';

const moto = useProxiedMoto();

const pollIntervalMs = 25;

/** A target group in moto (names are at most 32 characters) with a running instance launched for it. */
async function freshTargetGroup() {
  const name = uniqueName('tg');
  const arn = await createMotoTargetGroup(name);
  const instanceId = await launchInstance();
  return { name, arn, instanceId, targetGroup: createTargetGroup(arn, region, { pollIntervalMs }) };
}

const deregistering = 'Target deregistration is in progress';

function drainingAnswer(instanceId: string): ProxyAnswer {
  return queryApiResult(
    'DescribeTargetHealth',
    `<TargetHealthDescriptions><member><Target><Id>${instanceId}</Id><Port>80</Port></Target>` +
      `<TargetHealth><State>draining</State><Reason>Target.DeregistrationInProgress</Reason>` +
      `<Description>${deregistering}</Description></TargetHealth></member></TargetHealthDescriptions>`,
  );
}

/** Answers the first `times` DescribeTargetHealth calls with `stub`, then lets moto answer. */
function answerHealth(times: number, stub: ProxyAnswer) {
  let left = times;
  moto.answer = (request) => {
    if (request.action !== 'DescribeTargetHealth' || left === 0) return undefined;
    left -= 1;
    return stub;
  };
}

describe('target group against moto', () => {
  it('registers, is a member, is healthy, deregisters and is gone, with the calls in that order', async () => {
    const { name, arn, instanceId, targetGroup } = await freshTargetGroup();
    expect(targetGroup.description).toBe(`target group ${name}`);

    expect(await targetGroup.isRegistered(instanceId)).toBe(false);
    await targetGroup.register(instanceId);
    expect(await targetGroup.isRegistered(instanceId)).toBe(true);
    await targetGroup.waitInService(instanceId, 2000);
    await targetGroup.deregister(instanceId);
    await targetGroup.waitDeregistered(instanceId, 2000);
    expect(await targetGroup.isRegistered(instanceId)).toBe(false);

    expect(moto.proxy.requests.map((request) => request.action)).toEqual([
      'DescribeTargetHealth',
      'RegisterTargets',
      'DescribeTargetHealth',
      'DescribeTargetHealth',
      'DeregisterTargets',
      'DescribeTargetHealth',
      'DescribeTargetHealth',
    ]);
    for (const request of moto.proxy.requests) {
      expect(request.service).toBe('elasticloadbalancing');
      expect(request.status).toBe(200);
      expect(request.params.TargetGroupArn).toBe(arn);
      expect(request.params['Targets.member.1.Id']).toBe(instanceId);
    }
  });

  it('times out on a target moto reports unused, naming the target group, the state and its reason, within the time given', async () => {
    const { name, instanceId, targetGroup } = await freshTargetGroup();
    await targetGroup.register(instanceId);
    await stopInstance(instanceId);

    const started = performance.now();
    const error = await targetGroup.waitInService(instanceId, 300).catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe(
      `${instanceId} is not healthy on target group ${name} after 300ms: ` +
        'last state unused (Target.InvalidState: Target is in the stopped state); ' +
        `check the health check of target group ${name} and that the instance answers it (port, path, security group), or raise lb.wait_timeout`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1500);
    // Unhealthy is still a member.
    expect(await targetGroup.isRegistered(instanceId)).toBe(true);
  });

  it('waits while the target drains, and does not count a draining target as registered', async () => {
    const { instanceId, targetGroup } = await freshTargetGroup();
    await targetGroup.register(instanceId);
    await targetGroup.deregister(instanceId);
    answerHealth(3, drainingAnswer(instanceId));
    expect(await targetGroup.isRegistered(instanceId)).toBe(false);
    moto.proxy.clear();

    await targetGroup.waitDeregistered(instanceId, 5000);

    expect(moto.proxy.requests.map((request) => [request.action, request.answered])).toEqual([
      ['DescribeTargetHealth', true],
      ['DescribeTargetHealth', true],
      ['DescribeTargetHealth', false],
    ]);
  });

  it('times out while the target is still draining, naming the target group and the state', async () => {
    const { name, instanceId, targetGroup } = await freshTargetGroup();
    await targetGroup.register(instanceId);
    await targetGroup.deregister(instanceId);
    answerHealth(Number.POSITIVE_INFINITY, drainingAnswer(instanceId));

    await expect(targetGroup.waitDeregistered(instanceId, 100)).rejects.toThrow(
      new StepError(
        `${instanceId} is still registered with target group ${name} after 100ms: ` +
          `last state draining (Target.DeregistrationInProgress: ${deregistering}); ` +
          'connection draining (deregistration delay) may last longer than lb.wait_timeout: raise it or shorten the draining',
      ),
    );
  });

  it('times out on a target still registered', async () => {
    const { instanceId, targetGroup } = await freshTargetGroup();
    await targetGroup.register(instanceId);

    await expect(targetGroup.waitDeregistered(instanceId, 100)).rejects.toThrow('last state healthy;');
  });

  it("reports AWS failures as AwsError naming the target group and the service's error", async () => {
    const { name, arn, instanceId, targetGroup } = await freshTargetGroup();
    const error = await targetGroup.deregister(instanceId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe(
      `cannot deregister ${instanceId} from target group ${name}: ` +
        'InvalidTargetException: The specified target does not exist or is not in the same VPC as the target group.',
    );

    const missing = createTargetGroup(arn.replace(/\/[0-9a-f]+$/, '/0123456789abcdef'), region, { pollIntervalMs });
    const notFound = 'TargetGroupNotFoundException: One or more target groups not found';
    await expect(missing.register(instanceId)).rejects.toThrow(`cannot register ${instanceId} with target group ${name}: ${notFound}`);
    await expect(missing.isRegistered(instanceId)).rejects.toThrow(`cannot read the health of ${instanceId} in target group ${name}: ${notFound}`);
    await expect(missing.waitInService(instanceId, 1000)).rejects.toThrow(AwsError);
  });
});
