// The one configuration schema: every key with its type, default and meaning (the README's reference is checked against it).

export type FieldType = 'string' | 'integer' | 'boolean' | 'string-list';

export interface Field {
  type: FieldType;
  default: string | number | boolean | readonly string[];
  description: string;
  /** Smallest allowed value, for integers. */
  min?: number;
}

export type Section = { [key: string]: Field | Section };

export const defaultApplyCommand = 'salt-call --local --retcode-passthrough state.highstate';

export const configSchema = {
  bucket: { type: 'string', default: '', description: 'S3 bucket holding releases and pointers (required).' },
  prefix: { type: 'string', default: 'deploy', description: 'Key prefix inside the bucket.' },
  base_service: {
    type: 'string',
    default: 'base',
    description: 'Name of the shared base artifact (states, pillar, grains) deployed with every service.',
  },
  domain: {
    type: 'string',
    default: '',
    description: 'DNS domain appended to the hostname grain (cluster-node.domain); empty for none.',
  },
  verify_keys: {
    type: 'string-list',
    default: [],
    description:
      'Ed25519 public keys (PEM text, or paths of PEM files) one of which must have signed every pointer; empty: signatures are not checked.',
  },
  keep_releases: {
    type: 'integer',
    default: 5,
    min: 0,
    description: 'Releases kept per service by pruning, besides current, next and previous.',
  },
  lock_timeout: {
    type: 'integer',
    default: 300,
    min: 0,
    description: 'Seconds `deploy` waits for another run to release the lock before exiting 5.',
  },
  apply: {
    command: {
      type: 'string',
      default: defaultApplyCommand,
      description: 'Shell command of the apply step, run with /bin/sh -c; `none` skips the step.',
    },
    timeout: { type: 'integer', default: 1800, min: 1, description: 'Seconds before the apply command is killed.' },
  },
  hooks: {
    timeout: { type: 'integer', default: 600, min: 1, description: 'Seconds before one hook is killed.' },
    kill_grace: {
      type: 'integer',
      default: 10,
      min: 0,
      description: 'Seconds between SIGTERM and SIGKILL to a timed-out process group.',
    },
  },
  lb: {
    register: {
      type: 'boolean',
      default: true,
      description: 'Register the instance with its load balancers after a successful deploy.',
    },
    classic_elb: {
      type: 'boolean',
      default: true,
      description: 'Use a classic ELB (named by lb.elb_name).',
    },
    elb_name: {
      type: 'string',
      default: '',
      description: 'Classic ELB to register with; empty means the cluster_name grain.',
    },
    target_groups: {
      type: 'string-list',
      default: [],
      description: 'ALB/NLB target group ARNs to register the instance with.',
    },
    wait_in_service: {
      type: 'boolean',
      default: false,
      description: 'After registering, wait until every load balancer reports the instance InService/healthy.',
    },
    wait_timeout: {
      type: 'integer',
      default: 300,
      min: 1,
      description: 'Seconds to wait for InService/healthy, or for deregistration to finish when draining.',
    },
    drain_on_redeploy: {
      type: 'boolean',
      default: false,
      description: 'Deregister and drain first when redeploying an instance that is registered (as --drain).',
    },
  },
  asg: {
    lifecycle_hook: {
      type: 'string',
      default: '',
      description:
        'Name of the Auto Scaling launch lifecycle hook the first deploy completes (CONTINUE on success, ABANDON on failure); empty for none.',
    },
    heartbeat_interval: {
      type: 'integer',
      default: 60,
      min: 1,
      description: 'Seconds between lifecycle heartbeats while the first deploy runs.',
    },
  },
  check: {
    jitter: {
      type: 'integer',
      default: 30,
      min: 0,
      description: '`check` first sleeps a random 0 to this many seconds, so a fleet does not hit S3 at once.',
    },
  },
  fetch: {
    max_bytes: {
      type: 'integer',
      default: 8 * 1024 ** 3,
      min: 1,
      description: 'Largest total size, in bytes, that one release may extract to.',
    },
    max_entries: {
      type: 'integer',
      default: 200_000,
      min: 1,
      description: 'Largest number of entries one release may contain.',
    },
    attempts: {
      type: 'integer',
      default: 5,
      min: 1,
      description: 'Connections per download when the network fails mid-transfer; each retry resumes where the last one broke off.',
    },
    read_timeout: {
      type: 'integer',
      default: 60,
      min: 1,
      description: 'Seconds a download may receive nothing before its connection is dropped and resumed.',
    },
  },
} as const satisfies Section;

type Infer<S> = {
  -readonly [K in keyof S]: S[K] extends { type: 'string' }
    ? string
    : S[K] extends { type: 'integer' }
      ? number
      : S[K] extends { type: 'boolean' }
        ? boolean
        : S[K] extends { type: 'string-list' }
          ? string[]
          : Infer<S[K]>;
};

export type Config = Infer<typeof configSchema>;

export function isField(node: Field | Section): node is Field {
  return typeof (node as Field).type === 'string' && 'default' in node;
}

/** Every leaf of the schema with its dotted key, in declaration order. */
export function schemaFields(section: Section = configSchema, prefix = ''): { key: string; field: Field }[] {
  return Object.entries(section).flatMap(([name, node]) =>
    isField(node) ? [{ key: prefix + name, field: node }] : schemaFields(node, `${prefix}${name}.`),
  );
}

/** `apply.command` → `PULLDEPLOY_APPLY_COMMAND`. */
export function environmentName(key: string): string {
  return 'PULLDEPLOY_' + key.replaceAll('.', '_').toUpperCase();
}

/** The configuration with the given dotted keys set and every other key at its default. */
export function configFromValues(values: ReadonlyMap<string, unknown>): Config {
  const build = (section: Section, prefix: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(section).map(([name, node]) => [
        name,
        isField(node) ? (values.get(prefix + name) ?? copyDefault(node.default)) : build(node, `${prefix}${name}.`),
      ]),
    );
  return build(configSchema, '') as Config;
}

/** Lists are copied, so no caller can change the schema's defaults. */
function copyDefault(value: Field['default']): Field['default'] {
  return Array.isArray(value) ? [...value] : value;
}

export function defaultConfig(): Config {
  return configFromValues(new Map());
}
