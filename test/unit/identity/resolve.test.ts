// Identity resolution order against fakes: which source answers, which are never asked, and what a failure says.
import { describe, expect, it } from 'vitest';
import { IdentityError, UsageError } from '../../../src/errors.js';
import type { GroupNameLookup } from '../../../src/identity/asg-lookup.js';
import type { MetadataSource } from '../../../src/identity/metadata.js';
import { resolveGrains, type ResolveGrainsOptions } from '../../../src/identity/resolve.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { sampleGrains } from '../../helpers/grains.js';

type Answer<T> = T | Error;

interface FakeAnswers {
  instanceId?: Answer<string>;
  region?: Answer<string>;
  tag?: Answer<string | undefined>;
  fromTags?: Answer<string | undefined>;
  fromAutoScaling?: Answer<string | undefined>;
}

/** Fakes of metadata and the AWS lookups that record every call, in order. */
function fakeSources(answers: FakeAnswers) {
  const calls: string[] = [];
  const answer = async <T>(name: string, value: Answer<T> | undefined): Promise<T> => {
    calls.push(name);
    if (value instanceof Error) throw value;
    return value as T;
  };
  const metadata: MetadataSource = {
    instanceId: () => answer('metadata.instanceId', answers.instanceId ?? 'i-0abc898900'),
    region: () => answer('metadata.region', answers.region ?? 'us-east-1'),
    autoScalingGroupTag: () => answer('metadata.autoScalingGroupTag', answers.tag),
  };
  const lookup = (region: string): GroupNameLookup => {
    calls.push(`lookup(${region})`);
    return {
      groupNameFromTags: (instanceId) => answer(`groupNameFromTags(${instanceId})`, answers.fromTags),
      groupNameFromAutoScaling: (instanceId) => answer(`groupNameFromAutoScaling(${instanceId})`, answers.fromAutoScaling),
    };
  };
  return { calls, metadata, lookup };
}

function setUp(answers: FakeAnswers, overrides: Partial<ResolveGrainsOptions> = {}) {
  const { calls, metadata, lookup } = fakeSources(answers);
  const logger = createMemoryLogger();
  const options: ResolveGrainsOptions = { hostname: 'ip-10-0-0-1', domain: '', metadata, lookup, logger, ...overrides };
  return { calls, logger, resolve: () => resolveGrains(options) };
}

/** An AWS SDK error: the service's error code is its name. */
function awsError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('resolveGrains: service and instance on the command line', () => {
  it('takes region and node from a conventional hostname without asking metadata', async () => {
    const { calls, resolve } = setUp(
      {},
      { service: 'shop', instance: 'staging', hostname: 'myapp-testing-euwest2-0abc898900.example.com', domain: 'corp.net' },
    );
    const { grains, source } = await resolve();
    expect(calls).toEqual([]);
    expect(source).toBe('command line and hostname');
    expect(grains).toEqual({
      service_name: 'shop',
      service_instance: 'staging',
      region: 'euwest2',
      aws_region: 'eu-west-2',
      instance_id: 'i-0abc898900',
      service_node: '0abc898900',
      cluster_name: 'shop-staging-euwest2',
      service_group: 'shop-staging',
      hostname: 'shop-staging-euwest2-0abc898900.corp.net',
    });
  });

  it('takes region and node from metadata when the hostname is not conventional, without the group name', async () => {
    const { calls, resolve } = setUp(
      { instanceId: 'i-0123456789abcdef0', region: 'ap-southeast-2' },
      { service: 'billing-api', instance: 'prod' },
    );
    const { grains, source } = await resolve();
    expect(calls.sort()).toEqual(['metadata.instanceId', 'metadata.region']);
    expect(source).toBe('command line and instance metadata');
    expect(grains).toMatchObject({
      service_name: 'billing-api',
      service_instance: 'prod',
      region: 'apsoutheast2',
      aws_region: 'ap-southeast-2',
      instance_id: 'i-0123456789abcdef0',
      cluster_name: 'billing-api-prod-apsoutheast2',
      hostname: 'billing-api-prod-apsoutheast2-0123456789abcdef0',
    });
  });

  it('fails naming the hostname and metadata when neither gives region and node', async () => {
    const { resolve } = setUp(
      { instanceId: new IdentityError('instance metadata at http://169.254.169.254 unreachable (no answer within 2000 ms)') },
      { service: 'myapp', instance: 'testing', hostname: 'build-box' },
    );
    const failure = resolve();
    await expect(failure).rejects.toThrow(IdentityError);
    await expect(failure).rejects.toThrow(
      "cannot determine this instance's identity; tried:\n" +
        '  - hostname "build-box": not of the form <service>-<environment>-<region>-<node>[.domain], e.g. myapp-testing-useast1-0abc898900\n' +
        '  - instance metadata: instance metadata at http://169.254.169.254 unreachable (no answer within 2000 ms)\n' +
        'SERVICE and INSTANCE were given, but the region and node come from a hostname of the form',
    );
  });

  it('refuses a service without an instance', async () => {
    const { calls, resolve } = setUp({}, { service: 'myapp' });
    const failure = resolve();
    await expect(failure).rejects.toThrow(UsageError);
    await expect(failure).rejects.toThrow('give both SERVICE and INSTANCE (pulldeploy myapp testing), or neither');
    expect(calls).toEqual([]);
  });

  it('refuses an instance with a dash, which would not parse back from the cluster name', async () => {
    const { resolve } = setUp({}, { service: 'myapp', instance: 'load-test' });
    await expect(resolve()).rejects.toThrow(
      'instance "load-test" must be letters and digits, e.g. testing: it is the environment part of <service>-<environment>-<region>',
    );
  });

  it('refuses a service that is not dash-joined words', async () => {
    const { resolve } = setUp({}, { service: 'my_app', instance: 'testing' });
    const failure = resolve();
    await expect(failure).rejects.toThrow(UsageError);
    await expect(failure).rejects.toThrow('service "my_app" must be words of letters and digits joined by single dashes');
  });
});

describe('resolveGrains: discovery', () => {
  it('parses a conventional hostname with no network call at all', async () => {
    const { calls, resolve } = setUp({}, { hostname: 'myapp-testing-useast1-0abc898900', domain: 'example.com' });
    const { grains, source } = await resolve();
    expect(calls).toEqual([]);
    expect(source).toBe('hostname');
    expect(grains).toEqual(sampleGrains);
  });

  it('uses the metadata tag and never calls AWS', async () => {
    const { calls, logger, resolve } = setUp({ tag: 'myapp-testing-useast1' });
    const { grains, source } = await resolve();
    expect(source).toBe('instance metadata tag aws:autoscaling:groupName');
    expect(calls).not.toContain('lookup(us-east-1)');
    expect(calls).toContain('metadata.autoScalingGroupTag');
    expect(grains).toMatchObject({ cluster_name: 'myapp-testing-useast1', aws_region: 'us-east-1', instance_id: 'i-0abc898900' });
    expect(logger.lines).toContainEqual({
      level: 'debug',
      message: 'identity from instance metadata tag aws:autoscaling:groupName',
      fields: { source: 'instance metadata tag aws:autoscaling:groupName' },
    });
  });

  it('falls back to DescribeTags in the metadata region when metadata tags are disabled', async () => {
    const { calls, resolve } = setUp({ region: 'eu-west-1', fromTags: 'shop-prod-euwest1' });
    const { grains, source } = await resolve();
    expect(source).toBe('ec2:DescribeTags');
    expect(calls.slice(2)).toEqual(['metadata.autoScalingGroupTag', 'lookup(eu-west-1)', 'groupNameFromTags(i-0abc898900)']);
    expect(grains).toMatchObject({ service_name: 'shop', service_instance: 'prod', region: 'euwest1', aws_region: 'eu-west-1' });
  });

  it('falls back to DescribeAutoScalingInstances when DescribeTags fails', async () => {
    const { calls, resolve } = setUp({
      tag: new IdentityError('instance metadata at http://169.254.169.254 answered HTTP 403 for /latest/meta-data/tags'),
      fromTags: awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'),
      fromAutoScaling: 'myapp-testing-useast1',
    });
    const { grains, source } = await resolve();
    expect(source).toBe('autoscaling:DescribeAutoScalingInstances');
    expect(calls.slice(-2)).toEqual(['groupNameFromTags(i-0abc898900)', 'groupNameFromAutoScaling(i-0abc898900)']);
    expect(grains.cluster_name).toBe('myapp-testing-useast1');
  });

  it('creates the AWS lookup once for both API sources', async () => {
    const { calls, resolve } = setUp({ fromAutoScaling: 'myapp-testing-useast1' });
    await resolve();
    expect(calls.filter((call) => call.startsWith('lookup('))).toEqual(['lookup(us-east-1)']);
  });

  it('lists every source tried and why when none answers', async () => {
    const { resolve } = setUp({
      fromTags: awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'),
      fromAutoScaling: undefined,
    });
    const failure = resolve();
    await expect(failure).rejects.toThrow(IdentityError);
    await expect(failure).rejects.toThrow(
      "cannot determine this instance's identity; tried:\n" +
        '  - hostname "ip-10-0-0-1": not of the form <service>-<environment>-<region>-<node>[.domain], e.g. myapp-testing-useast1-0abc898900\n' +
        '  - instance metadata tag aws:autoscaling:groupName: not found: metadata tags are not enabled (aws ec2 modify-instance-metadata-options --instance-metadata-tags enabled)\n' +
        '  - ec2:DescribeTags: UnauthorizedOperation: You are not authorized to perform this operation.\n' +
        '  - autoscaling:DescribeAutoScalingInstances: i-0abc898900 is not in an Auto Scaling group\n' +
        'give SERVICE INSTANCE on the command line (pulldeploy myapp testing), name the host',
    );
  });

  it('says DescribeTags found no tag when it answers empty', async () => {
    const { resolve } = setUp({ fromTags: undefined, fromAutoScaling: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    await expect(resolve()).rejects.toThrow(
      '  - ec2:DescribeTags: no aws:autoscaling:groupName tag on i-0abc898900\n' +
        '  - autoscaling:DescribeAutoScalingInstances: connect ECONNREFUSED 127.0.0.1:1\n',
    );
  });

  it('stops at metadata when it cannot give instance id and region, since the APIs need both', async () => {
    const { calls, resolve } = setUp({
      region: new IdentityError('instance metadata at http://127.0.0.1:1 unreachable (connect ECONNREFUSED 127.0.0.1:1, 3 attempts)'),
    });
    const failure = resolve();
    await expect(failure).rejects.toThrow(
      '  - instance metadata: instance metadata at http://127.0.0.1:1 unreachable (connect ECONNREFUSED 127.0.0.1:1, 3 attempts)\n' +
        'give SERVICE INSTANCE on the command line',
    );
    expect(calls.filter((call) => call.startsWith('lookup('))).toEqual([]);
  });

  it('counts a malformed metadata answer as metadata failing', async () => {
    const { resolve } = setUp({ instanceId: 'not-an-id' });
    await expect(resolve()).rejects.toThrow('  - instance metadata: instance id "not-an-id" is not of the form i-0abc898900\n');
  });

  it('names the source and the group when the group name does not follow the convention', async () => {
    const { resolve } = setUp({ fromTags: 'legacy_web_asg' });
    const failure = resolve();
    await expect(failure).rejects.toThrow(IdentityError);
    await expect(failure).rejects.toThrow(
      'ec2:DescribeTags found Auto Scaling group "legacy_web_asg" is not a cluster name of the form ' +
        '<service>-<environment>-<region>, e.g. myapp-testing-useast1: it needs at least three dash-separated parts; ' +
        'rename the group, or give SERVICE INSTANCE on the command line',
    );
  });

  it('warns when the group names another region, keeping its region grain and the metadata AWS region', async () => {
    const { logger, resolve } = setUp({ region: 'us-west-2', tag: 'myapp-testing-useast1' });
    const { grains } = await resolve();
    expect(grains).toMatchObject({ region: 'useast1', aws_region: 'us-west-2', cluster_name: 'myapp-testing-useast1' });
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'Auto Scaling group myapp-testing-useast1 names region useast1 but the instance runs in us-west-2: ' +
        'using useast1 for the region grain and us-west-2 for AWS calls',
    ]);
  });

  it('does not warn when the regions agree', async () => {
    const { logger, resolve } = setUp({ tag: 'myapp-testing-useast1' });
    await resolve();
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });
});
