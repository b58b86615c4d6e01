// The classic ELB over real HTTP against moto, through the recording proxy (which stands in for states moto never reports).
import { describe, expect, it } from 'vitest';
import { AwsError, StepError } from '../../../src/errors.js';
import { createClassicElb } from '../../../src/lb/classic-elb.js';
import { queryApiError, queryApiResult, type ProxyAnswer } from '../../helpers/recording-proxy.js';
import { createMotoClassicElb, launchInstance, region, stopInstance, uniqueName, useProxiedMoto } from './moto-fixtures.js';

const moto = useProxiedMoto();

const pollIntervalMs = 25;

/** A classic ELB in moto with a running instance launched for it. */
async function freshElb() {
  const name = uniqueName('elb');
  await createMotoClassicElb(name);
  const instanceId = await launchInstance();
  return { name, instanceId, elb: createClassicElb(name, region, { pollIntervalMs }) };
}

function healthAnswer(instanceId: string, state: string, reasonCode: string, description: string): ProxyAnswer {
  return queryApiResult(
    'DescribeInstanceHealth',
    `<InstanceStates><member><InstanceId>${instanceId}</InstanceId><State>${state}</State>` +
      `<ReasonCode>${reasonCode}</ReasonCode><Description>${description}</Description></member></InstanceStates>`,
  );
}

/** Answers the first `times` DescribeInstanceHealth calls with `stub`, then lets moto answer. */
function answerHealth(times: number, stub: ProxyAnswer) {
  let left = times;
  moto.answer = (request) => {
    if (request.action !== 'DescribeInstanceHealth' || left === 0) return undefined;
    left -= 1;
    return stub;
  };
}

const draining = 'Instance deregistration currently in progress.';

describe('classic ELB against moto', () => {
  it('registers, is a member, is InService, deregisters and is gone, with the calls in that order', async () => {
    const { name, instanceId, elb } = await freshElb();
    expect(elb.description).toBe(`classic ELB ${name}`);

    expect(await elb.isRegistered(instanceId)).toBe(false);
    await elb.register(instanceId);
    expect(await elb.isRegistered(instanceId)).toBe(true);
    await elb.waitInService(instanceId, 2000);
    await elb.deregister(instanceId);
    await elb.waitDeregistered(instanceId, 2000);
    expect(await elb.isRegistered(instanceId)).toBe(false);

    expect(moto.proxy.requests.map((request) => request.action)).toEqual([
      'DescribeLoadBalancers',
      'RegisterInstancesWithLoadBalancer',
      'DescribeLoadBalancers',
      'DescribeInstanceHealth',
      'DeregisterInstancesFromLoadBalancer',
      'DescribeLoadBalancers',
      'DescribeInstanceHealth',
      'DescribeLoadBalancers',
    ]);
    for (const request of moto.proxy.requests) {
      expect(request.service).toBe('elasticloadbalancing');
      expect(request.status).toBe(200);
      if (request.action === 'DescribeLoadBalancers') expect(request.params['LoadBalancerNames.member.1']).toBe(name);
      else {
        expect(request.params.LoadBalancerName).toBe(name);
        expect(request.params['Instances.member.1.InstanceId']).toBe(instanceId);
      }
    }
  });

  it('keeps polling DescribeInstanceHealth through OutOfService until InService', async () => {
    const { instanceId, elb } = await freshElb();
    await elb.register(instanceId);
    answerHealth(2, healthAnswer(instanceId, 'OutOfService', 'ELB', 'Instance registration is still in progress.'));
    moto.proxy.clear();

    const started = performance.now();
    await elb.waitInService(instanceId, 5000);

    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * pollIntervalMs - 5);
    expect(moto.proxy.requests.map((request) => [request.action, request.answered])).toEqual([
      ['DescribeInstanceHealth', true],
      ['DescribeInstanceHealth', true],
      ['DescribeInstanceHealth', false],
    ]);
  });

  it('times out on an instance moto reports OutOfService, naming the ELB and the state, within the time given', async () => {
    const { name, instanceId, elb } = await freshElb();
    await elb.register(instanceId);
    await stopInstance(instanceId);

    const started = performance.now();
    const error = await elb.waitInService(instanceId, 300).catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe(
      `${instanceId} is not InService on classic ELB ${name} after 300ms: last state OutOfService; ` +
        `check the health check of classic ELB ${name} and that the instance answers it (port, path, security group), or raise lb.wait_timeout`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1500);
    expect(moto.proxy.requests.filter((request) => request.action === 'DescribeInstanceHealth').length).toBeGreaterThan(2);
  });

  it("gives the ELB's reason code and description in the timeout message", async () => {
    const { instanceId, elb } = await freshElb();
    await elb.register(instanceId);
    const reason = 'Instance has failed at least the UnhealthyThreshold number of health checks consecutively.';
    answerHealth(Number.POSITIVE_INFINITY, healthAnswer(instanceId, 'OutOfService', 'Instance', reason));

    await expect(elb.waitInService(instanceId, 100)).rejects.toThrow(`last state OutOfService (Instance: ${reason})`);
  });

  it('says the instance is not reported when moto does not know it (registered, but no EC2 instance)', async () => {
    const name = uniqueName('elb');
    await createMotoClassicElb(name);
    const elb = createClassicElb(name, region, { pollIntervalMs });
    await elb.register('i-0000000000000dead');

    await expect(elb.waitInService('i-0000000000000dead', 100)).rejects.toThrow(
      'last state not reported by DescribeInstanceHealth',
    );
  });

  it('waits while connection draining still reports the instance InService', async () => {
    const { instanceId, elb } = await freshElb();
    await elb.register(instanceId);
    await elb.deregister(instanceId);
    answerHealth(2, healthAnswer(instanceId, 'InService', 'N/A', draining));
    moto.proxy.clear();

    await elb.waitDeregistered(instanceId, 5000);

    expect(moto.proxy.requests.map((request) => [request.action, request.answered])).toEqual([
      ['DescribeLoadBalancers', false],
      ['DescribeInstanceHealth', true],
      ['DescribeLoadBalancers', false],
      ['DescribeInstanceHealth', true],
      ['DescribeLoadBalancers', false],
      ['DescribeInstanceHealth', false],
    ]);
  });

  it('times out while the instance is still draining, naming the ELB and the draining state', async () => {
    const { name, instanceId, elb } = await freshElb();
    await elb.register(instanceId);
    await elb.deregister(instanceId);
    answerHealth(Number.POSITIVE_INFINITY, healthAnswer(instanceId, 'InService', 'N/A', draining));

    const started = performance.now();
    const error = await elb.waitDeregistered(instanceId, 200).catch((caught: unknown) => caught);

    expect(performance.now() - started).toBeLessThan(1500);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe(
      `${instanceId} is still registered with classic ELB ${name} after 200ms: last state InService (${draining}); ` +
        'connection draining (deregistration delay) may last longer than lb.wait_timeout: raise it or shorten the draining',
    );
  });

  it('times out on an instance still listed by the load balancer', async () => {
    const { instanceId, elb } = await freshElb();
    await elb.register(instanceId);

    await expect(elb.waitDeregistered(instanceId, 100)).rejects.toThrow(
      'last state still listed among the instances of the load balancer',
    );
  });

  it('counts an instance the ELB answers InvalidInstance for as deregistered', async () => {
    const { instanceId, elb } = await freshElb();
    answerHealth(1, queryApiError('InvalidInstance', `Could not find EC2 instance ${instanceId}.`));

    await elb.waitDeregistered(instanceId, 1000);

    expect(moto.proxy.requests.map((request) => request.action)).toEqual(['DescribeLoadBalancers', 'DescribeInstanceHealth']);
  });

  it("reports AWS failures as AwsError naming the ELB and the service's error", async () => {
    const name = uniqueName('missing');
    const elb = createClassicElb(name, region, { pollIntervalMs });

    await expect(elb.isRegistered('i-0abc')).rejects.toThrow(
      new AwsError(
        `cannot list the instances of classic ELB ${name}: AccessPointNotFoundException: The specified load balancer does not exist: ${name}`,
      ),
    );
    await expect(elb.waitInService('i-0abc', 1000)).rejects.toThrow(
      `cannot read the health of i-0abc on classic ELB ${name}: AccessPointNotFoundException: There is no ACTIVE Load Balancer named '${name}'`,
    );
    // moto answers (De)RegisterInstances on a missing ELB with a 500; AWS itself answers LoadBalancerNotFound.
    moto.answer = () => queryApiError('LoadBalancerNotFound', `There is no ACTIVE Load Balancer named '${name}'`);
    const error = await elb.register('i-0abc').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe(
      `cannot register i-0abc with classic ELB ${name}: AccessPointNotFoundException: There is no ACTIVE Load Balancer named '${name}'`,
    );
    await expect(elb.deregister('i-0abc')).rejects.toThrow(`cannot deregister i-0abc from classic ELB ${name}: AccessPointNotFoundException`);
  });
});
