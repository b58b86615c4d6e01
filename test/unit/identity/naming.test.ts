// The naming convention: cluster names parsed from the right, region forms, conventional hostnames, derived grains.
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../../../src/errors.js';
import {
  buildGrains,
  parseClusterName,
  parseConventionalHostname,
  toAwsRegion,
  toShortRegion,
} from '../../../src/identity/naming.js';
import { sampleGrains } from '../../helpers/grains.js';

describe('parseClusterName', () => {
  it('splits service, environment and region', () => {
    expect(parseClusterName('myapp-testing-useast1')).toEqual({
      service_name: 'myapp',
      service_instance: 'testing',
      region: 'useast1',
    });
  });

  it('keeps dashes in the service, parsing from the right', () => {
    expect(parseClusterName('billing-api-v2-prod-euwest2')).toEqual({
      service_name: 'billing-api-v2',
      service_instance: 'prod',
      region: 'euwest2',
    });
  });

  it.each(['useast1', 'euwest2', 'apsoutheast2', 'usgovwest1', 'cacentral1', 'mecentral1', 'apnortheast3', 'cnnorth1', 'usisobeast1', 'saeast1', 'ilcentral1'])(
    'accepts region %s',
    (region) => {
      expect(parseClusterName(`myapp-testing-${region}`).region).toBe(region);
    },
  );

  it.each([
    ['myapp-testing', 'it needs at least three dash-separated parts'],
    ['myapp', 'it needs at least three dash-separated parts'],
    ['myapp-testing-us-east-1', '"1" is not an AWS region without dashes'],
    ['myapp-testing-useast', '"useast" is not an AWS region without dashes'],
    ['myapp-testing-USEAST1', '"USEAST1" is not an AWS region without dashes'],
    ['myapp--useast1', 'environment "" must be letters and digits'],
    ['myapp-test_ing-useast1', 'environment "test_ing" must be letters and digits'],
    ['-testing-useast1', 'service "" must be words of letters and digits'],
    ['my--app-testing-useast1', 'service "my--app" must be words'],
    ['my.app-testing-useast1', 'service "my.app" must be words'],
  ])('refuses %s, naming the value and the expected form', (name, why) => {
    const parse = () => parseClusterName(name);
    expect(parse).toThrow(IdentityError);
    expect(parse).toThrow(`"${name}" is not a cluster name of the form <service>-<environment>-<region>, e.g. myapp-testing-useast1: ${why}`);
  });
});

describe('region forms', () => {
  it.each([
    ['useast1', 'us-east-1'],
    ['apsoutheast2', 'ap-southeast-2'],
    ['usgovwest1', 'us-gov-west-1'],
    ['cacentral1', 'ca-central-1'],
    ['mecentral1', 'me-central-1'],
    ['apnortheast1', 'ap-northeast-1'],
    ['usisobeast1', 'us-isob-east-1'],
    ['euwest10', 'eu-west-10'],
  ])('%s is %s and back', (short, aws) => {
    expect(toAwsRegion(short)).toBe(aws);
    expect(toShortRegion(aws)).toBe(short);
  });

  it('refuses a short region that is not a region', () => {
    expect(() => toAwsRegion('mars1')).toThrow(IdentityError);
    expect(() => toAwsRegion('mars1')).toThrow('"mars1" is not an AWS region without dashes, e.g. useast1');
  });

  it('refuses an AWS region that is not a region', () => {
    expect(() => toShortRegion('useast1')).toThrow(IdentityError);
    expect(() => toShortRegion('useast1')).toThrow('"useast1" is not an AWS region, e.g. us-east-1');
  });
});

describe('parseConventionalHostname', () => {
  it('parses cluster and node from the first label, ignoring the domain', () => {
    expect(parseConventionalHostname('myapp-testing-useast1-0abc898900.example.com')).toEqual({
      service_name: 'myapp',
      service_instance: 'testing',
      region: 'useast1',
      service_node: '0abc898900',
    });
  });

  it('accepts an 8-digit node', () => {
    expect(parseConventionalHostname('myapp-testing-useast1-0abc8989')?.service_node).toBe('0abc8989');
  });

  it('accepts a 17-digit node and a service with dashes', () => {
    expect(parseConventionalHostname('billing-api-prod-apsoutheast2-0123456789abcdef0')).toEqual({
      service_name: 'billing-api',
      service_instance: 'prod',
      region: 'apsoutheast2',
      service_node: '0123456789abcdef0',
    });
  });

  it.each([
    'ip-10-0-0-1',
    'ip-10-0-0-1.ec2.internal',
    'localhost',
    'myhost',
    'myapp-testing-useast1',
    'myapp-testing-useast1-0abc898',
    'myapp-testing-useast1-0123456789abcdef01',
    'myapp-testing-useast1-0ABC8989',
    'myapp-testing-useast1-zzzzzzzz',
    'testing-useast1-0abc898900',
    'myapp-testing-mars1-0abc898900',
    '',
  ])('answers undefined for %j', (hostname) => {
    expect(parseConventionalHostname(hostname)).toBeUndefined();
  });
});

describe('buildGrains', () => {
  const sources = {
    service_name: 'myapp',
    service_instance: 'testing',
    region: 'useast1',
    aws_region: 'us-east-1',
    instance_id: 'i-0abc898900',
  };

  it('derives node, cluster, group and a hostname with the domain', () => {
    expect(buildGrains(sources, 'example.com')).toEqual(sampleGrains);
  });

  it('leaves the domain off when none is configured', () => {
    expect(buildGrains(sources, '').hostname).toBe('myapp-testing-useast1-0abc898900');
  });

  it('builds a hostname that parses back to the same names', () => {
    const grains = buildGrains({ ...sources, service_name: 'billing-api' }, 'example.com');
    expect(parseConventionalHostname(grains.hostname)).toEqual({
      service_name: 'billing-api',
      service_instance: 'testing',
      region: 'useast1',
      service_node: '0abc898900',
    });
  });

  it('refuses an instance id that is not one', () => {
    const build = () => buildGrains({ ...sources, instance_id: '0abc898900' }, '');
    expect(build).toThrow(IdentityError);
    expect(build).toThrow('"0abc898900" is not an EC2 instance id, e.g. i-0abc898900');
  });
});
