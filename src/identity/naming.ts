// The naming convention of DESIGN.md §1: cluster names, dash-less regions, conventional hostnames, grains.
import { IdentityError } from '../errors.js';
import type { Grains } from './grains.js';

export const clusterNameForm = '<service>-<environment>-<region>, e.g. myapp-testing-useast1';
export const hostnameForm = '<service>-<environment>-<region>-<node>[.domain], e.g. myapp-testing-useast1-0abc898900';

export interface ClusterName {
  service_name: string;
  service_instance: string;
  /** The AWS region without dashes: `useast1`. */
  region: string;
}

export interface ConventionalHostname extends ClusterName {
  service_node: string;
}

// Regions are <country>[-<partition>]-<direction>-<number>: us-east-1, us-gov-west-1, us-isob-east-1, ap-southeast-2.
const partition = 'gov|iso[a-z]?';
const direction = 'northeast|northwest|southeast|southwest|north|south|east|west|central';
const shortRegionPattern = new RegExp(`^([a-z]{2})(${partition})?(${direction})(\\d+)$`);
const awsRegionPattern = new RegExp(`^[a-z]{2}(-(${partition}))?-(${direction})-\\d+$`);

/** One word of a service or environment name: it ends up in directory names, S3 keys and the hostname. */
const wordPattern = /^[A-Za-z0-9]+$/;
// EC2 instance ids are i- plus 8 (older) or 17 lowercase hex digits; the range between also admits
// shortened ids like the i-0abc898900 of DESIGN.md, while still refusing ip-10-0-0-1 and the like.
const nodePattern = /^[0-9a-f]{8,17}$/;

export function isShortRegion(value: string): boolean {
  return shortRegionPattern.test(value);
}

export function isAwsRegion(value: string): boolean {
  return awsRegionPattern.test(value);
}

/** `i-` and 8 to 17 lowercase hex digits. */
export function isInstanceId(value: string): boolean {
  return value.startsWith('i-') && nodePattern.test(value.slice(2));
}

/** A service name: words of letters and digits joined by single dashes (`myapp`, `billing-api`). */
export function isServiceName(value: string): boolean {
  return value.split('-').every((word) => wordPattern.test(word));
}

/** An environment (service instance) name: letters and digits, no dash, since the cluster name is parsed from the right. */
export function isServiceInstance(value: string): boolean {
  return wordPattern.test(value);
}

/** Splits `<service>-<service_instance>-<region>` from the right; the service may contain dashes. */
export function parseClusterName(name: string): ClusterName {
  const match = /^(.*)-([^-]*)-([^-]*)$/.exec(name);
  if (!match) throw clusterNameError(name, 'it needs at least three dash-separated parts');
  const [, service = '', serviceInstance = '', region = ''] = match;
  if (!isShortRegion(region)) {
    throw clusterNameError(name, `"${region}" is not an AWS region without dashes (useast1, euwest2, usgovwest1)`);
  }
  if (!isServiceInstance(serviceInstance)) {
    throw clusterNameError(name, `environment "${serviceInstance}" must be letters and digits`);
  }
  if (!isServiceName(service)) {
    throw clusterNameError(name, `service "${service}" must be words of letters and digits joined by single dashes`);
  }
  return { service_name: service, service_instance: serviceInstance, region };
}

function clusterNameError(name: string, why: string): IdentityError {
  return new IdentityError(`"${name}" is not a cluster name of the form ${clusterNameForm}: ${why}`);
}

/** `useast1` → `us-east-1`, `usgovwest1` → `us-gov-west-1`. */
export function toAwsRegion(shortRegion: string): string {
  const match = shortRegionPattern.exec(shortRegion);
  if (!match) {
    throw new IdentityError(`"${shortRegion}" is not an AWS region without dashes, e.g. useast1, apsoutheast2, usgovwest1`);
  }
  const [, country, partitionName, directionName, number] = match;
  return [country, partitionName, directionName, number].filter((part) => part !== undefined).join('-');
}

/** `us-east-1` → `useast1`. */
export function toShortRegion(awsRegion: string): string {
  if (!isAwsRegion(awsRegion)) {
    throw new IdentityError(`"${awsRegion}" is not an AWS region, e.g. us-east-1, ap-southeast-2, us-gov-west-1`);
  }
  return awsRegion.replaceAll('-', '');
}

/** Parses a hostname that follows the convention; undefined (not an error) for any other hostname. */
export function parseConventionalHostname(hostname: string): ConventionalHostname | undefined {
  const label = hostname.split('.')[0] ?? '';
  const cut = label.lastIndexOf('-');
  if (cut < 0) return undefined;
  const node = label.slice(cut + 1);
  if (!nodePattern.test(node)) return undefined;
  try {
    return { ...parseClusterName(label.slice(0, cut)), service_node: node };
  } catch (error) {
    if (error instanceof IdentityError) return undefined;
    throw error;
  }
}

export interface GrainSources extends ClusterName {
  aws_region: string;
  instance_id: string;
}

/** Derives the remaining grains; the hostname gets `.domain` only when a domain is configured. */
export function buildGrains(sources: GrainSources, domain: string): Grains {
  if (!isInstanceId(sources.instance_id)) {
    throw new IdentityError(`"${sources.instance_id}" is not an EC2 instance id, e.g. i-0abc898900`);
  }
  const serviceNode = sources.instance_id.slice(2);
  const clusterName = `${sources.service_name}-${sources.service_instance}-${sources.region}`;
  const host = `${clusterName}-${serviceNode}`;
  return {
    service_name: sources.service_name,
    service_instance: sources.service_instance,
    region: sources.region,
    aws_region: sources.aws_region,
    instance_id: sources.instance_id,
    service_node: serviceNode,
    cluster_name: clusterName,
    service_group: `${sources.service_name}-${sources.service_instance}`,
    hostname: domain === '' ? host : `${host}.${domain}`,
  };
}
