// The release pointer of DESIGN.md §2: its S3 keys, and parsing with validation of every field.
import { ArtifactError } from '../errors.js';

export interface CanaryPointer {
  version: string;
  sha256: string;
  /** Share of the fleet, 0 to 100, that deploys the canary version. */
  percent: number;
  /** Base64 ed25519 signature of the canary release (DESIGN.md §7), made like the pointer's own. */
  signature?: string;
}

export interface Pointer {
  version: string;
  /** Lowercase hex sha256 of the .tar.gz bytes. */
  sha256: string;
  size?: number;
  /** Base64 ed25519 signature (DESIGN.md §7). */
  signature?: string;
  canary?: CanaryPointer;
  promoted_at?: string;
  promoted_by?: string;
}

const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const sha256Pattern = /^[0-9a-f]{64}$/;

/** True when `version` can safely become one directory name under releases/. */
export function isSafeVersion(version: string): boolean {
  return versionPattern.test(version) && version !== '.' && version !== '..';
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function pointerKey(prefix: string, service: string, instance: string): string {
  return `${prefix}/${service}/${instance}/current`;
}

export function releaseKey(prefix: string, service: string, version: string): string {
  return `${prefix}/${service}/releases/${version}.tar.gz`;
}

type Fields = Record<string, unknown>;

/** A value for a message: JSON, cut short so a hostile pointer cannot flood the log. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the `version` and `sha256` shared by the pointer and its canary; `where` prefixes field names in messages. */
function parseRelease(fields: Fields, where: string, fail: (problem: string) => never): { version: string; sha256: string } {
  const { version, sha256 } = fields;
  if (typeof version !== 'string') fail(`"${where}version" is missing or not a string`);
  if (!isSafeVersion(version)) {
    fail(
      `"${where}version" ${quote(version)} is not a safe version: it must match ${versionPattern.source} ` +
        'because it becomes a directory name',
    );
  }
  if (typeof sha256 !== 'string' || !sha256Pattern.test(sha256)) {
    const found = typeof sha256 === 'string' ? ` (found ${quote(sha256)})` : '';
    fail(`"${where}sha256" must be 64 lowercase hex digits${found}: a release without a sha256 is never deployed`);
  }
  return { version, sha256 };
}

function parseOptionalString(fields: Fields, name: string, fail: (problem: string) => never, where = ''): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(`"${where}${name}" must be a string`);
  return value;
}

function parseSize(fields: Fields, fail: (problem: string) => never): number | undefined {
  const { size } = fields;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    fail(`"size" must be a non-negative integer number of bytes (found ${quote(size)})`);
  }
  return size;
}

function parseCanary(fields: Fields, fail: (problem: string) => never): CanaryPointer | undefined {
  const { canary } = fields;
  if (canary === undefined) return undefined;
  if (!isObject(canary)) fail('"canary" must be an object with version, sha256 and percent');
  const release = parseRelease(canary, 'canary.', fail);
  const { percent } = canary;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    fail(`"canary.percent" must be a number from 0 to 100 (found ${quote(percent)})`);
  }
  const signature = parseOptionalString(canary, 'signature', fail, 'canary.');
  return { ...release, percent, ...(signature !== undefined ? { signature } : {}) };
}

/** Parses the pointer JSON read from `url`; every problem is an ArtifactError naming the URL. */
export function parsePointer(text: string, url: string): Pointer {
  const fail = (problem: string): never => {
    throw new ArtifactError(`pointer ${url} is invalid: ${problem}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ArtifactError(`pointer ${url} is not valid JSON (${(error as Error).message}): republish it with "pulldeploy promote"`, {
      cause: error,
    });
  }
  if (!isObject(parsed)) return fail(`expected a JSON object, found ${Array.isArray(parsed) ? 'an array' : quote(parsed)}`);

  const pointer: Pointer = parseRelease(parsed, '', fail);
  const size = parseSize(parsed, fail);
  if (size !== undefined) pointer.size = size;
  const signature = parseOptionalString(parsed, 'signature', fail);
  if (signature !== undefined) pointer.signature = signature;
  const canary = parseCanary(parsed, fail);
  if (canary !== undefined) pointer.canary = canary;
  const promotedAt = parseOptionalString(parsed, 'promoted_at', fail);
  if (promotedAt !== undefined) pointer.promoted_at = promotedAt;
  const promotedBy = parseOptionalString(parsed, 'promoted_by', fail);
  if (promotedBy !== undefined) pointer.promoted_by = promotedBy;
  return pointer;
}
