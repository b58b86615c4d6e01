// The environment of hooks and the apply command: the agent's own, minus credentials, plus grains and PULLDEPLOY_*.
import type { Grains } from '../identity/grains.js';

export type HookEnvironmentPhase = 'pre-release' | 'post-release' | 'apply';

export interface HookEnvironmentInput {
  base: NodeJS.ProcessEnv;
  grains: Grains;
  version: string;
  /** Empty in the environment on a first deploy. */
  previousVersion: string | undefined;
  releaseDir: string;
  phase: HookEnvironmentPhase;
  root: string;
  /** Added last, as given: the caller chose these on purpose. */
  extra?: Record<string, string>;
}

const credentialVariables = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
]);
const credentialWords = /SECRET|TOKEN|PASSWORD|CREDENTIAL/i;
/** Where cron or a bare systemd unit gives no PATH, salt-call and friends must still be found. */
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Names that never reach a hook: credentials (DESIGN.md §7) and NODE_OPTIONS (code injection into node hooks). */
export function isWithheldVariable(name: string): boolean {
  return credentialVariables.has(name.toUpperCase()) || credentialWords.test(name) || name === 'NODE_OPTIONS';
}

export function buildHookEnvironment(input: HookEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.base)) {
    if (value === undefined || isWithheldVariable(name)) continue;
    // The PULLDEPLOY_* a hook sees are the ones set below, never the agent's own configuration variables.
    if (name.startsWith('PULLDEPLOY_')) continue;
    env[name] = value;
  }
  env.PATH ??= defaultPath;
  for (const [grain, value] of Object.entries(input.grains)) {
    env[grainVariableName(grain)] = String(value);
  }
  env.PULLDEPLOY_VERSION = input.version;
  env.PULLDEPLOY_PREVIOUS_VERSION = input.previousVersion ?? '';
  env.PULLDEPLOY_RELEASE_DIR = input.releaseDir;
  env.PULLDEPLOY_PHASE = input.phase;
  env.PULLDEPLOY_ROOT = input.root;
  return { ...env, ...input.extra };
}

/** `service_name` → `PULLDEPLOY_SERVICE_NAME`. */
export function grainVariableName(grain: string): string {
  return `PULLDEPLOY_${grain.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}
