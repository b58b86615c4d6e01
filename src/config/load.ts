// Configuration: defaults < YAML file < PULLDEPLOY_* environment < flags, every problem reported at once.
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, UsageError } from '../errors.js';
import {
  configFromValues,
  configSchema,
  environmentName,
  isField,
  schemaFields,
  type Config,
  type Field,
  type Section,
} from './schema.js';

export interface ConfigSources {
  /** The file named by --config or PULLDEPLOY_CONFIG; it must exist. */
  explicitFile?: string;
  /** The default location under --root; it may be missing. */
  defaultFile: string;
  env: NodeJS.ProcessEnv;
  /** Flag values by dotted key (`lock_timeout`), already given on the command line. */
  flags: Record<string, string | number | boolean | undefined>;
}

export interface LoadedConfig {
  config: Config;
  /** Where the file layer came from, or undefined when none was read. */
  file: string | undefined;
}

export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  const file = sources.explicitFile ?? sources.defaultFile;
  const fileValues = await readConfigFile(file, sources.explicitFile !== undefined);
  const problems: string[] = [];
  const values = new Map<string, unknown>();

  if (fileValues !== undefined) {
    collectFileValues(fileValues.data, configSchema, '', values, problems);
  }
  for (const { key, field } of schemaFields()) {
    const raw = sources.env[environmentName(key)];
    if (raw !== undefined) values.set(key, coerceText(raw, field, `${environmentName(key)}`, problems));
    const flag = sources.flags[key];
    if (flag !== undefined) {
      values.set(key, typeof flag === 'string' ? coerceText(flag, field, `--${key.replaceAll('_', '-')}`, problems) : flag);
    }
  }
  for (const { key, field } of schemaFields()) {
    const value = values.get(key);
    if (value !== undefined) checkRange(value, field, key, problems);
  }
  if (problems.length > 0) throw new ConfigError(fileValues?.path ?? 'environment and flags', problems);
  return { config: configFromValues(values), file: fileValues?.path };
}

async function readConfigFile(path: string, required: boolean): Promise<{ path: string; data: unknown } | undefined> {
  let text: string;
  try {
    const info = await stat(path);
    refuseWritableByOthers(path, info);
    if (info.isDirectory()) throw new ConfigError(path, ['cannot read it: it is a directory, not a file']);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const reasons: Record<string, string> = {
      ENOENT: 'the file does not exist',
      EACCES: 'permission denied',
      ENOTDIR: 'a part of its path is not a directory',
    };
    const reason = (code !== undefined ? reasons[code] : undefined) ?? String(error);
    throw new ConfigError(path, [`cannot read it: ${reason}`]);
  }
  // The YAML parser is loaded only when there is a file to parse: a timer's check on a host configured by the
  // environment alone does without it.
  const { parse: parseYaml } = await import('yaml');
  try {
    const data: unknown = parseYaml(text) ?? {};
    return { path, data };
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
}

/**
 * The configuration decides what runs as root: a file that anyone but root (and the user running pulldeploy)
 * can change is a way in, whether by its mode bits or by its owner.
 */
function refuseWritableByOthers(path: string, info: Stats): void {
  if ((info.mode & 0o002) !== 0) {
    throw new ConfigError(path, [`the file is world-writable: run "chmod o-w ${path}"`]);
  }
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined) return;
  if (info.uid !== 0 && info.uid !== uid) {
    throw new ConfigError(path, [`the file belongs to uid ${info.uid}, who could change what runs as root: run "chown root ${path}"`]);
  }
  if ((info.mode & 0o020) !== 0 && info.gid !== 0 && info.gid !== gid) {
    throw new ConfigError(path, [`the file is writable by group ${info.gid}: run "chmod g-w ${path}"`]);
  }
}

function collectFileValues(data: unknown, section: Section, prefix: string, values: Map<string, unknown>, problems: string[]) {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(`${prefix ? prefix.slice(0, -1) : 'the document'}: expected a mapping of keys`);
    return;
  }
  for (const [name, value] of Object.entries(data)) {
    const key = prefix + name;
    const node = section[name];
    if (node === undefined) {
      problems.push(`${key}: unknown key${suggestKeys(section, prefix)}`);
    } else if (isField(node)) {
      if (matchesType(value, node.type)) values.set(key, value);
      else problems.push(`${key}: expected ${article(node.type)}, got ${describeValue(value)}`);
    } else {
      collectFileValues(value, node, `${key}.`, values, problems);
    }
  }
}

function coerceText(raw: string, field: Field, origin: string, problems: string[]): unknown {
  if (field.type === 'string') return raw;
  // PEM text and paths hold no commas, so a comma-separated list carries either.
  if (field.type === 'string-list') return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (field.type === 'integer') {
    if (/^-?\d+$/.test(raw.trim())) return Number(raw.trim());
    problems.push(`${origin}: expected an integer, got "${raw}"`);
    return undefined;
  }
  const lowered = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
  if (['false', '0', 'no', 'off'].includes(lowered)) return false;
  problems.push(`${origin}: expected true or false, got "${raw}"`);
  return undefined;
}

function checkRange(value: unknown, field: Field, key: string, problems: string[]) {
  if (field.type === 'integer' && typeof value === 'number') {
    if (!Number.isSafeInteger(value)) problems.push(`${key}: expected an integer, got ${value}`);
    else if (field.min !== undefined && value < field.min) problems.push(`${key}: must be at least ${field.min}, got ${value}`);
  }
}

function matchesType(value: unknown, type: Field['type']): boolean {
  if (type === 'string-list') return Array.isArray(value) && value.every((item) => typeof item === 'string');
  return typeOf(value) === type;
}

function typeOf(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function article(type: Field['type']): string {
  if (type === 'string-list') return 'a list of strings';
  return type === 'integer' ? 'an integer' : `a ${type}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeOf(value)} ${JSON.stringify(value)}`;
}

function suggestKeys(section: Section, prefix: string): string {
  return ` (known keys: ${Object.keys(section).map((name) => prefix + name).join(', ')})`;
}

/** The bucket every S3-reading command needs, with how to set it when it is missing. */
export function requireBucket(config: Config): string {
  if (config.bucket === '') {
    throw new UsageError('no bucket configured: set "bucket" in /etc/pulldeploy/config.yaml, PULLDEPLOY_BUCKET or --bucket');
  }
  return config.bucket;
}
