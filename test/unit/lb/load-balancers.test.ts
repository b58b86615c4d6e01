// Which load balancers a configuration names, and registering with or deregistering from all of them, with fakes.
import { ElasticLoadBalancingClient, DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../../src/config/schema.js';
import { AwsError, StepError } from '../../../src/errors.js';
import type { LoadBalancer } from '../../../src/lb/load-balancer.js';
import { deregisterAll, loadBalancersFor, registerAll, registeredWith } from '../../../src/lb/load-balancers.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { sampleGrains } from '../../helpers/grains.js';

const tgArn = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0123456789abcdef`;

function configWith(lb: Partial<Config['lb']>): Config {
  const config = defaultConfig();
  Object.assign(config.lb, lb);
  return config;
}

const descriptions = (loadBalancers: LoadBalancer[]) => loadBalancers.map((loadBalancer) => loadBalancer.description);

describe('loadBalancersFor', () => {
  const classicMock = mockClient(ElasticLoadBalancingClient);
  const targetGroupMock = mockClient(ElasticLoadBalancingV2Client);
  afterEach(() => {
    classicMock.reset();
    targetGroupMock.reset();
  });

  it('is the classic ELB named after the cluster by default', () => {
    expect(descriptions(loadBalancersFor(defaultConfig(), sampleGrains))).toEqual(['classic ELB myapp-testing-useast1']);
  });

  it('uses lb.elb_name when set', () => {
    expect(descriptions(loadBalancersFor(configWith({ elb_name: 'legacy-web' }), sampleGrains))).toEqual(['classic ELB legacy-web']);
  });

  it('adds one per target group ARN, after the classic ELB, in order', () => {
    const config = configWith({ target_groups: [tgArn('web-tg'), tgArn('api-tg')] });
    expect(descriptions(loadBalancersFor(config, sampleGrains))).toEqual([
      'classic ELB myapp-testing-useast1',
      'target group web-tg',
      'target group api-tg',
    ]);
  });

  it('leaves the classic ELB out when lb.classic_elb is false', () => {
    expect(descriptions(loadBalancersFor(configWith({ classic_elb: false, target_groups: [tgArn('web-tg')] }), sampleGrains))).toEqual([
      'target group web-tg',
    ]);
    expect(loadBalancersFor(configWith({ classic_elb: false }), sampleGrains)).toEqual([]);
  });

  it('talks to AWS in the aws_region grain, not the dashless region', async () => {
    classicMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: [{ Instances: [{ InstanceId: 'i-0abc898900' }] }] });
    targetGroupMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
    const [classic, targetGroup] = loadBalancersFor(configWith({ target_groups: [tgArn('web-tg')] }), sampleGrains);

    expect(await classic!.isRegistered('i-0abc898900')).toBe(true);
    expect(await targetGroup!.isRegistered('i-0abc898900')).toBe(false);

    const classicClient = classicMock.call(0).thisValue as ElasticLoadBalancingClient;
    const targetGroupClient = targetGroupMock.call(0).thisValue as ElasticLoadBalancingV2Client;
    expect(await classicClient.config.region()).toBe('us-east-1');
    expect(await targetGroupClient.config.region()).toBe('us-east-1');
    expect(classicMock.call(0).args[0].input).toEqual({ LoadBalancerNames: ['myapp-testing-useast1'] });
    expect(targetGroupMock.call(0).args[0].input).toEqual({ TargetGroupArn: tgArn('web-tg'), Targets: [{ Id: 'i-0abc898900' }] });
  });
});

type Method = 'register' | 'deregister' | 'isRegistered' | 'waitInService' | 'waitDeregistered';

/** A load balancer that writes every call (and its end) to a shared journal; a method may fail or wait for a gate. */
function fakeLoadBalancer(
  description: string,
  journal: string[],
  behaviour: { fail?: Partial<Record<Method, Error>>; gate?: Partial<Record<Method, Promise<void>>>; registered?: boolean } = {},
): LoadBalancer {
  const call = async (method: Method, detail: string) => {
    journal.push(`${description} ${method} ${detail}`);
    await behaviour.gate?.[method];
    const failure = behaviour.fail?.[method];
    if (failure) throw failure;
    journal.push(`${description} ${method} done`);
  };
  return {
    description,
    register: (id) => call('register', id),
    deregister: (id) => call('deregister', id),
    isRegistered: async (id) => {
      await call('isRegistered', id);
      return behaviour.registered ?? false;
    },
    waitInService: (id, timeoutMs) => call('waitInService', `${id} ${timeoutMs}`),
    waitDeregistered: (id, timeoutMs) => call('waitDeregistered', `${id} ${timeoutMs}`),
  };
}

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const infoLines = (logger: ReturnType<typeof createMemoryLogger>) =>
  logger.lines.filter((line) => line.level === 'info').map((line) => line.message.replace(/ in \d+ms$/, ' in Nms'));

describe('registerAll', () => {
  it('registers with each load balancer, then waits for it to be in service, logging each with its duration', async () => {
    const journal: string[] = [];
    const logger = createMemoryLogger();
    const loadBalancers = [fakeLoadBalancer('elb A', journal), fakeLoadBalancer('tg B', journal)];

    await registerAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 7000, logger });

    for (const name of ['elb A', 'tg B']) {
      const mine = journal.filter((line) => line.startsWith(name));
      expect(mine).toEqual([`${name} register i-1`, `${name} register done`, `${name} waitInService i-1 7000`, `${name} waitInService done`]);
    }
    expect(infoLines(logger).sort()).toEqual([
      'i-1 in service on elb A in Nms',
      'i-1 in service on tg B in Nms',
      'i-1 registered with elb A in Nms',
      'i-1 registered with tg B in Nms',
    ]);
    expect(logger.lines[0]?.fields).toEqual({ load_balancer: expect.any(String), instance_id: 'i-1', duration_ms: expect.any(Number) });
  });

  it('does not wait when not asked to', async () => {
    const journal: string[] = [];
    const logger = createMemoryLogger();

    await registerAll([fakeLoadBalancer('elb A', journal)], 'i-1', { wait: false, timeoutMs: 7000, logger });

    expect(journal).toEqual(['elb A register i-1', 'elb A register done']);
    expect(infoLines(logger)).toEqual(['i-1 registered with elb A in Nms']);
  });

  it('works on every load balancer at once rather than one after the other', async () => {
    const journal: string[] = [];
    const slow = gate();
    const loadBalancers = [fakeLoadBalancer('elb A', journal, { gate: { register: slow.opened } }), fakeLoadBalancer('tg B', journal)];

    const done = registerAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 1000, logger: createMemoryLogger() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(journal).toContain('tg B waitInService done');
    expect(journal).not.toContain('elb A register done');
    slow.open();
    await done;

    expect(journal).toContain('elb A waitInService done');
  });

  it('throws a single failure as it is, after trying every other load balancer, and skips the failed one’s wait', async () => {
    const journal: string[] = [];
    const failure = new AwsError('cannot register i-1 with elb A: AccessPointNotFoundException: There is no ACTIVE Load Balancer named A');
    const loadBalancers = [fakeLoadBalancer('elb A', journal, { fail: { register: failure } }), fakeLoadBalancer('tg B', journal)];

    await expect(registerAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 1000, logger: createMemoryLogger() })).rejects.toBe(failure);

    expect(journal.filter((line) => line.startsWith('elb A'))).toEqual(['elb A register i-1']);
    expect(journal).toContain('tg B waitInService done');
  });

  it('throws one StepError listing every failure when several load balancers fail', async () => {
    const journal: string[] = [];
    const first = new AwsError('cannot register i-1 with elb A: AccessDenied');
    const second = new StepError('i-1 is not healthy on tg B after 1s: last state unhealthy');
    const loadBalancers = [
      fakeLoadBalancer('elb A', journal, { fail: { register: first } }),
      fakeLoadBalancer('tg B', journal, { fail: { waitInService: second } }),
      fakeLoadBalancer('tg C', journal),
    ];

    const error = await registerAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 1000, logger: createMemoryLogger() }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe(
      'registering i-1 failed on 2 of 3 load balancers:\n' +
        '  - cannot register i-1 with elb A: AccessDenied\n' +
        '  - i-1 is not healthy on tg B after 1s: last state unhealthy',
    );
    expect(((error as StepError).cause as AggregateError).errors).toEqual([first, second]);
    expect(journal).toContain('tg C waitInService done');
  });

  it('does nothing without load balancers', async () => {
    const logger = createMemoryLogger();
    await registerAll([], 'i-1', { wait: true, timeoutMs: 1000, logger });
    expect(logger.lines).toEqual([]);
  });
});

describe('deregisterAll', () => {
  it('deregisters from each load balancer, then waits for it to drain, logging each with its duration', async () => {
    const journal: string[] = [];
    const logger = createMemoryLogger();
    const loadBalancers = [fakeLoadBalancer('elb A', journal), fakeLoadBalancer('tg B', journal)];

    await deregisterAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 3000, logger });

    for (const name of ['elb A', 'tg B']) {
      expect(journal.filter((line) => line.startsWith(name))).toEqual([
        `${name} deregister i-1`,
        `${name} deregister done`,
        `${name} waitDeregistered i-1 3000`,
        `${name} waitDeregistered done`,
      ]);
    }
    expect(infoLines(logger).sort()).toEqual([
      'i-1 deregistered from elb A in Nms',
      'i-1 deregistered from tg B in Nms',
      'i-1 drained from elb A in Nms',
      'i-1 drained from tg B in Nms',
    ]);
  });

  it('does not wait for draining when not asked to', async () => {
    const journal: string[] = [];

    await deregisterAll([fakeLoadBalancer('elb A', journal)], 'i-1', { wait: false, timeoutMs: 3000, logger: createMemoryLogger() });

    expect(journal).toEqual(['elb A deregister i-1', 'elb A deregister done']);
  });

  it('drains every load balancer at once', async () => {
    const journal: string[] = [];
    const slow = gate();
    const loadBalancers = [fakeLoadBalancer('elb A', journal, { gate: { waitDeregistered: slow.opened } }), fakeLoadBalancer('tg B', journal)];

    const done = deregisterAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 1000, logger: createMemoryLogger() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(journal).toContain('tg B waitDeregistered done');
    expect(journal).not.toContain('elb A waitDeregistered done');
    slow.open();
    await done;
  });

  it('throws a drain that timed out as it is', async () => {
    const timedOut = new StepError('i-1 is still registered with elb A after 1s: last state InService');
    const loadBalancers = [fakeLoadBalancer('elb A', [], { fail: { waitDeregistered: timedOut } }), fakeLoadBalancer('tg B', [])];

    await expect(deregisterAll(loadBalancers, 'i-1', { wait: true, timeoutMs: 1000, logger: createMemoryLogger() })).rejects.toBe(timedOut);
  });

  it('names deregistering in the message when several fail', async () => {
    const loadBalancers = [
      fakeLoadBalancer('elb A', [], { fail: { deregister: new AwsError('a failed') } }),
      fakeLoadBalancer('tg B', [], { fail: { deregister: new AwsError('b failed') } }),
    ];

    await expect(deregisterAll(loadBalancers, 'i-1', { wait: false, timeoutMs: 1000, logger: createMemoryLogger() })).rejects.toThrow(
      'deregistering i-1 failed on 2 of 2 load balancers:\n  - a failed\n  - b failed',
    );
  });
});

describe('registeredWith', () => {
  it('is the load balancers the instance is registered with, in the order given', async () => {
    const journal: string[] = [];
    const loadBalancers = [
      fakeLoadBalancer('elb A', journal, { registered: true }),
      fakeLoadBalancer('tg B', journal, { registered: false }),
      fakeLoadBalancer('tg C', journal, { registered: true }),
    ];

    expect(descriptions(await registeredWith(loadBalancers, 'i-1'))).toEqual(['elb A', 'tg C']);
    expect(journal.filter((line) => !line.endsWith('done'))).toEqual(['elb A isRegistered i-1', 'tg B isRegistered i-1', 'tg C isRegistered i-1']);
  });

  it('fails when a load balancer cannot say', async () => {
    const failure = new AwsError('cannot list the instances of classic ELB A: AccessDenied');
    const loadBalancers = [fakeLoadBalancer('elb A', [], { fail: { isRegistered: failure } }), fakeLoadBalancer('tg B', [])];

    await expect(registeredWith(loadBalancers, 'i-1')).rejects.toBe(failure);
  });
});
