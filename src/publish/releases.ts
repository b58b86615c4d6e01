// `releases`: every published version of a service with size and date, and which environment's pointer names which (canaries too).
import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { s3Url } from '../artifacts/pointer.js';
import type { PublisherContext } from './publisher-context.js';
import { readPointerState } from './pointer-store.js';
import { describeS3Failure } from './s3-failure.js';

export interface EnvironmentUse {
  environment: string;
  role: 'stable' | 'canary';
  /** The canary's share of the environment's instances. */
  percent?: number;
}

export interface ListedRelease {
  version: string;
  size: number;
  published_at: string | undefined;
  used_by: EnvironmentUse[];
}

export interface ListedEnvironment {
  environment: string;
  version?: string;
  sha256?: string;
  canary?: { version: string; percent: number };
  promoted_at?: string;
  promoted_by?: string;
  /** Why the pointer is unusable, when it is. */
  problem?: string;
  /** Versions it names that are not among the releases. */
  missing?: string[];
}

export interface ReleaseListing {
  service: string;
  url: string;
  releases: ListedRelease[];
  environments: ListedEnvironment[];
}

const releasePattern = /^releases\/([^/]+)\.tar\.gz$/;
const pointerPattern = /^([^/]+)\/current$/;

async function listKeys(context: PublisherContext, prefix: string): Promise<{ key: string; size: number; lastModified: Date | undefined }[]> {
  const objects: { key: string; size: number; lastModified: Date | undefined }[] = [];
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await context.s3.send(new ListObjectsV2Command({ Bucket: context.bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (error) {
      throw describeS3Failure(error, `listing ${s3Url(context.bucket, prefix)}`, context.bucket, 's3:ListBucket');
    }
    for (const item of page.Contents ?? []) {
      if (item.Key !== undefined) objects.push({ key: item.Key.slice(prefix.length), size: item.Size ?? 0, lastModified: item.LastModified });
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}

export async function listReleases(context: PublisherContext, service: string): Promise<ReleaseListing> {
  const prefix = `${context.prefix}/${service}/`;
  const objects = await listKeys(context, prefix);
  const releases: ListedRelease[] = [];
  const environmentNames: string[] = [];
  for (const object of objects) {
    const release = releasePattern.exec(object.key);
    if (release?.[1] !== undefined) {
      releases.push({ version: release[1], size: object.size, published_at: object.lastModified?.toISOString(), used_by: [] });
      continue;
    }
    const pointer = pointerPattern.exec(object.key);
    if (pointer?.[1] !== undefined && pointer[1] !== 'releases') environmentNames.push(pointer[1]);
  }
  releases.sort((a, b) => (a.published_at ?? '').localeCompare(b.published_at ?? '') || a.version.localeCompare(b.version));

  const states = await Promise.all(environmentNames.sort().map((name) => readPointerState(context.s3, context.bucket, `${prefix}${name}/current`)));
  const byVersion = new Map(releases.map((release) => [release.version, release]));
  const environments = states.map((state, index): ListedEnvironment => {
    const environment = environmentNames[index] ?? '';
    const { pointer } = state;
    if (pointer === undefined) return { environment, problem: state.problem ?? 'the pointer vanished while listing' };
    const missing: string[] = [];
    const use = (version: string, entry: EnvironmentUse) => {
      const release = byVersion.get(version);
      if (release === undefined) missing.push(version);
      else release.used_by.push(entry);
    };
    use(pointer.version, { environment, role: 'stable' });
    if (pointer.canary !== undefined) use(pointer.canary.version, { environment, role: 'canary', percent: pointer.canary.percent });
    return {
      environment,
      version: pointer.version,
      sha256: pointer.sha256,
      ...(pointer.canary !== undefined ? { canary: { version: pointer.canary.version, percent: pointer.canary.percent } } : {}),
      ...(pointer.promoted_at !== undefined ? { promoted_at: pointer.promoted_at } : {}),
      ...(pointer.promoted_by !== undefined ? { promoted_by: pointer.promoted_by } : {}),
      ...(missing.length > 0 ? { missing } : {}),
    };
  });
  return { service, url: s3Url(context.bucket, prefix), releases, environments };
}

function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

/** The listing for a person: releases oldest first with where each is used, then each environment's pointer. */
export function formatListing(listing: ReleaseListing): string {
  const lines: string[] = [];
  if (listing.releases.length === 0) {
    lines.push(`no releases under ${listing.url}releases/\n`);
  } else {
    const rows = listing.releases.map((release) => [
      release.version,
      formatSize(release.size),
      release.published_at ?? '-',
      release.used_by.map((use) => (use.role === 'canary' ? `${use.environment} (canary ${use.percent}%)` : use.environment)).join(', '),
    ]);
    lines.push(table([['VERSION', 'SIZE', 'PUBLISHED', 'ENVIRONMENTS'], ...rows]));
  }
  if (listing.environments.length > 0) {
    const rows = listing.environments.map((environment) => [
      environment.environment,
      environment.version ?? '-',
      environment.canary !== undefined ? `${environment.canary.version} (${environment.canary.percent}%)` : '-',
      environment.promoted_at ?? '-',
      environment.promoted_by ?? '-',
      [
        ...(environment.problem !== undefined ? [`INVALID: ${environment.problem}`] : []),
        ...(environment.missing !== undefined ? [`MISSING RELEASE: ${environment.missing.join(', ')}`] : []),
      ].join('; '),
    ]);
    lines.push('\n' + table([['ENVIRONMENT', 'VERSION', 'CANARY', 'PROMOTED', 'BY', ''], ...rows]));
  }
  return lines.join('');
}
